/*
 * The dump loader, on any bytes: resurrect restores what it can, names
 * the rest, and never crashes.
 */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "pmd.h"
#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const unsigned char *, size_t);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	struct resurrect_result	 result;
	char			*path, *cause;

	fuzz_init();
	path = fuzz_file("dump.json", data, len);
	free(path);
	if (dump_resurrect(NULL, &result, &cause) == -1)
		free(cause);
	else
		resurrect_result_free(&result);
	fuzz_settle();
	fuzz_reset();
	return 0;
}
