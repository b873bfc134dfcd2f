#!/usr/bin/env bash
# Start the "remote" servers the tests use, on loopback only, when they are not running (root):
#   - sshd on 127.0.0.1:2222 (its own config and host key): user `tester` in the docker group
#     (a Docker host over ssh://), `tester-nodocker` outside it, `tester-refused` that accepts
#     no key; the client key and known_hosts live in $state/client. A second sshd on
#     127.0.0.1:2223 forwards nothing (DisableForwarding: a hardened box)
#   - the CNCF distribution registry 2.8 (Debian's docker-registry) on registry.trt-magic.test:5443
#     (10.213.0.1 on the loopback interface, see below) with TLS
#     (a self-signed CA that both Docker daemons trust through /etc/docker/certs.d) and htpasswd
#     auth (user `trt`, password in $state/registry/password)
# and a marked block in root's ~/.ssh/config: the alias `trt-magic-gpu-box` (tester, known host
# key), `trt-magic-unknown-host` (no known_hosts), `trt-magic-changed-host` (a wrong one) and
# `trt-magic-no-forwarding` (the second sshd).
# Stop with: bash scripts/remote_up.sh stop
set -euo pipefail
state=${TRT_MAGIC_REMOTE_STATE:-/var/lib/trt_magic-test/remote}
ssh_port=${TRT_MAGIC_SSH_PORT:-2222}
# dockerd treats every registry on 127.0.0.0/8 as insecure (it retries over plain HTTP and
# reports that error instead of the registry's own "unauthorized"), so the registry listens on
# an address of its own on the loopback interface, named in /etc/hosts: still only this machine
reg_ip=${TRT_MAGIC_REGISTRY_IP:-10.213.0.1}
registry=${TRT_MAGIC_REGISTRY:-registry.trt-magic.test:5443}
reg_port=${registry##*:}
mark_begin="# >>> trt_magic test hosts (scripts/remote_up.sh) >>>"
mark_end="# <<< trt_magic test hosts <<<"

alive() { [ -n "${1:-}" ] && [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

if [ "$(id -u)" != 0 ]; then
  echo "remote_up: not root, not starting sshd and the registry (their tests use what is there)" >&2
  exit 0
fi

if [ "${1:-}" = stop ]; then
  for p in sshd sshd-noforward registry; do
    [ -f "$state/$p.pid" ] && alive "$(cat "$state/$p.pid")" && kill "$(cat "$state/$p.pid")"
    rm -f "$state/$p.pid"
  done
  exit 0
fi

need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "remote_up: apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$state/client" "$state/sshd" "$state/registry/data" /run/sshd
chmod 700 "$state/client"

# -- users and keys -----------------------------------------------------------------------
getent group docker >/dev/null || groupadd docker
for u in tester tester-nodocker tester-refused; do
  id "$u" >/dev/null 2>&1 || useradd -m -s /bin/sh "$u"
  usermod -p "*" "$u"  # no password, but not "locked": sshd (without PAM) refuses locked accounts
done
usermod -aG docker tester
[ -f "$state/client/id_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C trt_magic-test -f "$state/client/id_ed25519"
[ -f "$state/client/other_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C trt_magic-other -f "$state/client/other_ed25519"
for u in tester tester-nodocker tester-refused; do
  home=$(getent passwd "$u" | cut -d: -f6)
  install -d -o "$u" -g "$u" -m 700 "$home/.ssh"
  if [ "$u" = tester-refused ]; then key="$state/client/other_ed25519.pub"; else key="$state/client/id_ed25519.pub"; fi
  install -o "$u" -g "$u" -m 600 "$key" "$home/.ssh/authorized_keys"
done

# -- sshd on loopback ---------------------------------------------------------------------
[ -f "$state/sshd/host_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -f "$state/sshd/host_ed25519"
[ -f "$state/sshd/wrong_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -f "$state/sshd/wrong_ed25519"
cat > "$state/sshd/sshd_config" <<EOF
ListenAddress 127.0.0.1:$ssh_port
HostKey $state/sshd/host_ed25519
PidFile $state/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers tester tester-nodocker tester-refused
UsePAM no
X11Forwarding no
EOF
# a second sshd that forwards nothing (a hardened box): trt_magic falls back to dial-stdio there
sed -e "s/^ListenAddress .*/ListenAddress 127.0.0.1:$((ssh_port + 1))/" -e "s#^PidFile .*#PidFile $state/sshd-noforward.pid#" \
  "$state/sshd/sshd_config" > "$state/sshd/sshd_config_noforward"
echo "DisableForwarding yes" >> "$state/sshd/sshd_config_noforward"
for conf in sshd_config sshd_config_noforward; do
  pid="$state/sshd.pid"; [ "$conf" = sshd_config ] || pid="$state/sshd-noforward.pid"
  # always (re)started: its config may have changed; open sessions live on in their children
  if [ -f "$pid" ] && alive "$(cat "$pid")"; then kill "$(cat "$pid")"; sleep 0.2; fi
  /usr/sbin/sshd -f "$state/sshd/$conf" -E "$state/sshd/$conf.log"
done
{ echo "[127.0.0.1]:$ssh_port $(cut -d' ' -f1,2 "$state/sshd/host_ed25519.pub")"
  echo "[127.0.0.1]:$((ssh_port + 1)) $(cut -d' ' -f1,2 "$state/sshd/host_ed25519.pub")"; } > "$state/client/known_hosts"
echo "[127.0.0.1]:$ssh_port $(cut -d' ' -f1,2 "$state/sshd/wrong_ed25519.pub")" > "$state/client/known_hosts_changed"

mkdir -p /root/.ssh && chmod 700 /root/.ssh && touch /root/.ssh/config
sed -i "/^$mark_begin\$/,/^$mark_end\$/d" /root/.ssh/config
cat >> /root/.ssh/config <<EOF
$mark_begin
Host trt-magic-no-forwarding
  Port $((ssh_port + 1))
  UserKnownHostsFile $state/client/known_hosts
Host trt-magic-gpu-box trt-magic-unknown-host trt-magic-changed-host trt-magic-no-forwarding
  HostName 127.0.0.1
  Port $ssh_port
  User tester
  IdentityFile $state/client/id_ed25519
  IdentitiesOnly yes
  BatchMode yes
Host trt-magic-gpu-box
  UserKnownHostsFile $state/client/known_hosts
Host trt-magic-unknown-host
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking yes
Host trt-magic-changed-host
  UserKnownHostsFile $state/client/known_hosts_changed
Match host 127.0.0.1 user tester,tester-nodocker,tester-refused
  IdentityFile $state/client/id_ed25519
  IdentitiesOnly yes
  BatchMode yes
  UserKnownHostsFile $state/client/known_hosts
$mark_end
EOF
chmod 600 /root/.ssh/config

# -- the registry: TLS with our own CA, htpasswd auth --------------------------------------
reg="$state/registry"
reg_name=${registry%%:*}
ip addr show dev lo | grep -q "inet $reg_ip/" || ip addr add "$reg_ip/32" dev lo
grep -q " $reg_name " /etc/hosts || echo "$reg_ip $reg_name # trt_magic tests (scripts/remote_up.sh)" >> /etc/hosts
if [ ! -f "$reg/ca.crt" ] || ! grep -q "$reg_name" "$reg/san.ext" 2>/dev/null; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=trt_magic test CA" \
    -keyout "$reg/ca.key" -out "$reg/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$reg_name" -keyout "$reg/server.key" -out "$reg/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s,IP:%s\n' "$reg_name" "$reg_ip" > "$reg/san.ext"
  openssl x509 -req -in "$reg/server.csr" -CA "$reg/ca.crt" -CAkey "$reg/ca.key" -CAcreateserial \
    -days 3650 -extfile "$reg/san.ext" -out "$reg/server.crt" 2>/dev/null
fi
[ -f "$reg/password" ] || { head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$reg/password"; }
htpasswd -Bbn trt "$(cat "$reg/password")" > "$reg/htpasswd" 2>/dev/null
for name in "$registry" "$reg_ip:$reg_port"; do
  install -D -m 644 "$reg/ca.crt" "/etc/docker/certs.d/$name/ca.crt"
done
cat > "$reg/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $reg/data
  delete:
    enabled: true
http:
  addr: $reg_ip:$reg_port
  tls:
    certificate: $reg/server.crt
    key: $reg/server.key
auth:
  htpasswd:
    realm: trt_magic-test
    path: $reg/htpasswd
EOF
if ! { [ -f "$state/registry.pid" ] && alive "$(cat "$state/registry.pid")"; }; then
  setsid -f bash -c "echo \$\$ > '$state/registry.pid'; exec /usr/bin/docker-registry serve '$reg/config.yml' >'$reg/registry.log' 2>&1" </dev/null
fi
for _ in $(seq 1 50); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$reg/ca.crt" "https://$registry/v2/" || true)
  [ "$code" = 401 ] && break
  sleep 0.1
done
[ "$code" = 401 ] || { echo "remote_up: the registry did not come up (got $code); see $reg/registry.log" >&2; exit 1; }
for _ in $(seq 1 50); do
  ssh -o ConnectTimeout=2 trt-magic-gpu-box true 2>/dev/null && break
  sleep 0.1
done
ssh -o ConnectTimeout=2 trt-magic-gpu-box true || { echo "remote_up: sshd on 127.0.0.1:$ssh_port refuses us; see $state/sshd/sshd_config.log" >&2; exit 1; }
