/*
 * A worker for make bench: writes BYTES bytes of numbered LEN-byte lines
 * to stdout as fast as it can, then "END", and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	long long	 bytes, i, lines, v;
	int		 len, d;
	char		 line[4096];
	static char	 buf[1 << 16];

	if (argc != 3 || (bytes = atoll(argv[1])) <= 0 ||
	    (len = atoi(argv[2])) < 16 || len > (int)sizeof line - 1) {
		fprintf(stderr, "usage: log-writer BYTES LEN\n");
		return 2;
	}
	setvbuf(stdout, buf, _IOFBF, sizeof buf);
	memset(line, 'x', sizeof line);
	lines = bytes / len;
	for (i = 0; i < lines; i++) {
		for (v = i, d = 13; d >= 0; d--, v /= 10)
			line[d] = '0' + v % 10;
		line[14] = ' ';
		line[len - 1] = '\n';
		fwrite(line, 1, len, stdout);
	}
	fputs("END\n", stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
