# Sourced by the shell tests (tests/s3, tests/crash).

# free_port: a TCP port on 127.0.0.1 nobody listens on (100 tries, then an error). Below the
# kernel's ephemeral range (32768 and up by default): a port from it could be taken as the local
# port of some test's outgoing connection between this check and the daemon's bind (CI saw
# "cannot listen on 127.0.0.1:39758: Address already in use").
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 12000))
    ss -Htln "sport = :$port" | grep -q . || {
      echo "$port"
      return
    }
  done
  echo "no free port found" >&2
  return 1
}
