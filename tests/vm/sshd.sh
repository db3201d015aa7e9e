# SPDX-License-Identifier: GPL-2.0-or-later
# OpenSSH's sshd on 127.0.0.1 for the ssh dump target cases
# (tests/vm/capture.sh, tests/realhost/run.sh), with its own config, host
# key and authorized_keys; the guest reaches it as 10.0.2.2 through QEMU's
# user networking. Sourced after lib.sh (VM_PY).

sshd_pid=""
# sshd_start DIR [PORT]: serves SFTP to root with the keys in
# DIR/authorized_keys; its host key is DIR/host_ecdsa (made if missing).
# Sets sshd_pid and sshd_port (a new free port unless given). Returns 1 if
# it does not listen within 10 s (DIR/sshd.log says why).
sshd_start() {
	local dir=$1
	sshd_port=${2:-$("$VM_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
	mkdir -p "$dir" /run/sshd
	[[ -e $dir/host_ecdsa ]] || ssh-keygen -q -N '' -t ecdsa -b 256 -f "$dir/host_ecdsa" -C ktest-host
	cat >"$dir/sshd_config" <<-EOF
		Port $sshd_port
		ListenAddress 127.0.0.1
		HostKey $dir/host_ecdsa
		AuthorizedKeysFile $dir/authorized_keys
		StrictModes no
		UsePAM no
		PidFile $dir/sshd.pid
		Subsystem sftp internal-sftp
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		LogLevel VERBOSE
	EOF
	/usr/sbin/sshd -D -e -f "$dir/sshd_config" 2>>"$dir/sshd.log" &
	sshd_pid=$!
	for _ in $(seq 100); do
		"$VM_PY" -c "import socket; socket.create_connection(('127.0.0.1', $sshd_port), 1)" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# sshd_stop: the listener and its session processes (children of our sshd
# only).
sshd_stop() {
	[[ -n $sshd_pid ]] || return 0
	local children
	children=$(ps -o pid= --ppid "$sshd_pid" 2>/dev/null)
	kill "$sshd_pid" $children 2>/dev/null
	wait "$sshd_pid" 2>/dev/null
	sshd_pid=""
}
