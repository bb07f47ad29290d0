# vsctl.bash - bash completion for vsctl(8).
#
# Installed as /usr/share/bash-completion/completions/vsctl.  Completes the
# options, the commands (from `vsctl list-commands`, so always those of the
# installed vsctl), bridge and port names (asked from the running vswitchd
# with `vsctl list-br` / `vsctl list-ports`, quietly and with a 1 s timeout,
# honouring a --socket given on the line), port types, port and bridge
# options (key=), the options of `capture` and JSON-RPC method names for
# `call`.  Words are split at blanks only (so "type=vh" is one word whatever
# COMP_WORDBREAKS says).

# _vsctl_q ARGS...: vsctl with the line's --socket, nothing on stderr.
_vsctl_q()
{
    command "${_vsctl_bin:-vsctl}" ${_vsctl_sock:+--socket "$_vsctl_sock"} \
        --timeout 1 "$@" 2>/dev/null
}

# _vsctl_reply CUR WORDS...: COMPREPLY = the WORDS that start with CUR,
# with the part of CUR up to its last '=' or ':' removed when bash treats
# those as word breaks (it only replaces what follows them).
_vsctl_reply()
{
    local cur=$1 w pre=""
    shift
    COMPREPLY=()
    case $cur in
    *[=:]*)
        local tail=${cur##*[=:]}
        local brk=${cur:$((${#cur} - ${#tail} - 1)):1}
        [[ $COMP_WORDBREAKS == *"$brk"* ]] && pre=${cur%"$tail"}
        ;;
    esac
    for w in "$@"; do
        [[ $w == "$cur"* ]] && COMPREPLY+=("${w#"$pre"}")
    done
}

_vsctl()
{
    local line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}
    local -a words
    read -ra words <<<"$line"
    [[ $line == *[[:blank:]] ]] && words+=("")
    local cur=${words[${#words[@]} - 1]}
    local n=$((${#words[@]} - 1))     # index of the word being completed
    local _vsctl_bin=${words[0]} _vsctl_sock="" i=1 cmd="" cmdi=0

    # Global options, up to the command (or up to the word being completed,
    # which may be an option's value).
    while ((i < n)); do
        case ${words[i]} in
        --socket | --format | --timeout)
            ((i + 1 == n)) && break
            [[ ${words[i]} == --socket ]] && _vsctl_sock=${words[i + 1]}
            i=$((i + 2))
            ;;
        --socket=*) _vsctl_sock=${words[i]#--socket=}; i=$((i + 1)) ;;
        -*) i=$((i + 1)) ;;
        *) cmd=${words[i]}; cmdi=$i; break ;;
        esac
    done
    if [[ -z $cmd ]]; then
        if ((i < n)); then
            case ${words[i]} in         # the value of option words[i]
            --socket) COMPREPLY=($(compgen -f -- "$cur")) ;;
            --format) _vsctl_reply "$cur" table json ;;
            esac
            return 0
        fi
        if [[ $cur == -* ]]; then
            _vsctl_reply "$cur" --socket --format --timeout --help --version
        else
            _vsctl_reply "$cur" $(command "$_vsctl_bin" list-commands 2>/dev/null \
                                  | awk '{print $1}')
        fi
        return 0
    fi

    local arg=$((n - cmdi))                 # 1 = first argument of cmd
    local port_opts="vlan= trunks= mtu= queues= tx-retries= path= devargs= n_rxq= rxq_size= txq_size="
    case $cmd in
    del-br | fdb-show | fdb-flush | list-ports)
        ((arg == 1)) && _vsctl_reply "$cur" $(_vsctl_q list-br)
        ;;
    add-br)
        ((arg >= 2)) && _vsctl_reply "$cur" mac-table-size= mac-aging-time=
        ;;
    add-port)
        if ((arg == 1)); then
            _vsctl_reply "$cur" $(_vsctl_q list-br)
        elif ((arg >= 3)); then
            _vsctl_reply "$cur" type=vhost-user type=vhost-user-client type=dpdk \
                type=internal $port_opts
        fi
        ;;
    del-port | port-show | port-stats | port-stats-clear)
        ((arg == 1)) && _vsctl_reply "$cur" $(_vsctl_q list-ports)
        ;;
    set-port)
        if ((arg == 1)); then
            _vsctl_reply "$cur" $(_vsctl_q list-ports)
        else
            _vsctl_reply "$cur" $port_opts
        fi
        ;;
    capture)
        if ((arg == 1)); then
            _vsctl_reply "$cur" $(_vsctl_q list-ports)
        else
            case ${words[n - 1]} in
            --direction) _vsctl_reply "$cur" rx tx both ;;
            -w) COMPREPLY=($(compgen -f -- "$cur")); [[ -z $cur ]] && COMPREPLY+=(-) ;;
            --count | --snaplen) ;;
            *) _vsctl_reply "$cur" --direction --count --snaplen -w ;;
            esac
        fi
        ;;
    call)
        ((arg == 1)) && _vsctl_reply "$cur" $(_vsctl_q --format json call \
            system.list_methods | grep -o '"[a-z_]*\.[a-z_.]*"' | tr -d '"')
        ;;
    esac
    return 0
}

complete -F _vsctl vsctl
