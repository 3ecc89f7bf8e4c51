#!/usr/bin/env bash
# Make sure a MariaDB server answers for the tests.
#   ensure: if nothing answers on $DIALER_TEST_MYSQL (default 127.0.0.1:3306), start the
#           machine's mariadbd; failing that, install Debian's mariadb-server and start a
#           throwaway server in a temporary directory on that port.
set -euo pipefail
url=${DIALER_TEST_MYSQL:-mysql://root@127.0.0.1:3306}
hostport=${url##*@}; host=${hostport%%:*}; port=${hostport##*:}; port=${port%%/*}
[ "$port" = "$hostport" ] && port=3306

ping() { mysqladmin --protocol=tcp -h "$host" -P "$port" -uroot ping >/dev/null 2>&1; }

wait_up() { for _ in $(seq 1 60); do ping && return 0; sleep 0.5; done; return 1; }

if command -v mysqladmin >/dev/null 2>&1 && ping; then exit 0; fi
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
	echo "mariadb.sh: no MariaDB on $host:$port; installing mariadb-server" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server mariadb-client >/dev/null
fi
# The machine's own server, as configured (root over TCP without a password).
if [ -f /etc/mysql/my.cnf ] && [ "$port" = 3306 ]; then
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >/dev/null 2>&1 || true
	if wait_up; then exit 0; fi
fi
# A throwaway server of our own.
dir=$(mktemp -d /tmp/dialer-mariadb.XXXXXX)
chown mysql:mysql "$dir" 2>/dev/null || true
mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal --user="$(id -un)" >/dev/null
/usr/sbin/mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/sock" --port="$port" \
	--bind-address="$host" --user="$(id -un)" --pid-file="$dir/pid" \
	--log-error="$dir/err.log" &
if wait_up; then
	mysql --protocol=tcp -h "$host" -P "$port" -uroot -e "SELECT 1" >/dev/null
	echo "mariadb.sh: started a throwaway MariaDB in $dir on $host:$port" >&2
	exit 0
fi
echo "mariadb.sh: could not start MariaDB on $host:$port (see $dir/err.log)" >&2
exit 1
