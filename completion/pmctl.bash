# bash completion for pmctl(1): commands, options, and the names of the
# apps the daemon runs. It never starts a daemon: `pmctl ping`, which does
# not, must answer before `pmctl --json list` is asked.

_pmctl_apps()
{
	pmctl ping >/dev/null 2>&1 || return
	pmctl --json list 2>/dev/null |
	    grep -o '"name":"[^"]*"' | cut -d'"' -f4 | sort -u
}

_pmctl()
{
	local cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	# pmctl's own table: every command and alias (`pmctl commands`).
	local commands="$(pmctl commands 2>/dev/null)"

	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s|--socket) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [[ $prev == -s || $prev == --socket ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-s --socket --json --timeout
			    -h --help -V --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi
	case $cmd in
	start)
		case $prev in
		--env|--name|-i|--instances) return ;;
		esac
		COMPREPLY=($(compgen -W "all $(_pmctl_apps) --env --name -i
		    --interpreter --watch $(pmctl commands keys 2>/dev/null)
		    --" -- "$cur") $(compgen -f -X '!*.conf' -- "$cur"))
		;;
	stop|restart|reload|delete|reset)
		COMPREPLY=($(compgen -W "all $(_pmctl_apps)" -- "$cur")) ;;
	scale|show|flush)
		[[ $prev == "$cmd" ]] &&
		    COMPREPLY=($(compgen -W "$(_pmctl_apps)" -- "$cur")) ;;
	logs)
		COMPREPLY=($(compgen -W "$(_pmctl_apps) --lines --follow
		    --err --out" -- "$cur")) ;;
	signal)
		if [[ $prev == signal ]]; then
			COMPREPLY=($(compgen -W "SIGHUP SIGINT SIGTERM SIGKILL
			    SIGUSR1 SIGUSR2 SIGQUIT SIGCONT SIGSTOP" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "all $(_pmctl_apps)" -- "$cur"))
		fi
		;;
	esac
}
complete -F _pmctl pmctl
