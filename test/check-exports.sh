#!/bin/sh
# check-exports.sh PLUGIN.so: the plugin's dynamic symbol table defines
# CR_PLUGIN_DESC and nothing else (plugin/criu-rdma.map).  CRIU looks up
# only that symbol; anything more could bind to CRIU's own symbols (CRIU
# is linked -rdynamic) or another plugin's.
set -eu
so=$1
allowed="CR_PLUGIN_DESC"
syms=$(nm -D --defined-only "$so" | awk '{ print $NF }' | sort -u)
echo "$so exports:"
echo "$syms" | sed 's/^/  /'
rc=0
for s in $syms; do
	case " $allowed " in
	*" $s "*) ;;
	*) echo "FAIL: $so exports $s (only $allowed may be)"; rc=1 ;;
	esac
done
for s in $allowed; do
	echo "$syms" | grep -qx "$s" || { echo "FAIL: $so does not export $s"; rc=1; }
done
exit $rc
