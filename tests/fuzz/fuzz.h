/*
 * What the harnesses share: a daemon without its main (fuzz-daemon.c), on
 * a private directory, whose workers never start (proc_spawn fails as if
 * out of processes), so that fuzzed requests cannot run commands.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>

void	 fuzz_init(void);	/* once: the loop, the directory, the config */
void	 fuzz_settle(void);	/* what pmd does after each loop iteration */
void	 fuzz_loop(int);	/* n loop iterations that never wait */
void	 fuzz_reset(void);	/* forget every app: the next input starts clean */
char	*fuzz_file(const char *, const unsigned char *, size_t);
extern char *fuzz_dir;

#endif
