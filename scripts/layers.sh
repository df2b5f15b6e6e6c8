#!/bin/sh
# The line between core and edge (ARCHITECTURE.md, "Layers"): no core file
# builds a reply or talks to a client. The edge is the control socket
# (control*.c), the commands (cmd*.c), the HTTP listener (metrics*.c,
# http-api.c) and the client (pmctl*.c); src/preload/ is a library of its
# own. Every other file of src/ is core or platform, and may not name
# reply_ok/reply_error, a client_* or a cmd_* function.
cd "$(dirname "$0")/.." || exit 1
bad=0
for f in src/*.c; do
	case ${f#src/} in
	cmd*.c|control*.c|metrics*.c|http*.c|pmctl*.c)
		continue ;;
	esac
	if grep -nE '\<(reply_(ok|error)|client_[a-z_]+|cmd_[a-z_]+) *\(' "$f" |
	    sed "s|^|$f:|" | grep .; then
		bad=1
	fi
done
if [ $bad -ne 0 ]; then
	echo "layers: the core names an edge function above (a reply, a" \
	    "client or a command): return a result and let the command" \
	    "build the reply" >&2
	exit 1
fi
echo "layers: the core names no reply, client or command function"
