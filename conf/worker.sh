#!/bin/sh
# A small worker for the example config: says hello, then a line every few
# seconds, and exits cleanly on SIGTERM (as a real worker should).
trap 'echo "instance $PMD_INSTANCE: got SIGTERM, bye"; exit 0' TERM
echo "instance $PMD_INSTANCE (worker $PMD_WORKER_ID, pid $$) of $PMD_APP up; greeting: $GREETING"
n=0
while :; do
	sleep 5 &
	wait $!
	n=$((n + 1))
	echo "instance $PMD_INSTANCE: tick $n"
done
