/*
 * A worker for make bench: prints CLOCK_MONOTONIC as soon as it runs, so
 * the bench can tell how long after a kill its replacement was running,
 * then waits to be killed.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int
main(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("%lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	fflush(stdout);
	for (;;)
		pause();
}
