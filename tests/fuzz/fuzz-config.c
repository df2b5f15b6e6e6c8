/* The config loader, on any bytes: an error or a config, never a crash. */
#include <stdlib.h>

#include "pmd.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const unsigned char *, size_t);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	struct config	*cfg;
	char		*path, *cause;

	fuzz_init();
	path = fuzz_file("pmd.conf", data, len);
	if (config_load(path, OWNER_NONE, &cfg, &cause) == 0)
		config_free(cfg);
	else
		free(cause);
	free(path);
	return 0;
}
