# SPDX-License-Identifier: GPL-2.0-or-later
# NFS-Ganesha on 127.0.0.1 for the VM tests that need a real NFS server
# (tests/vm/nfs.sh, and the nfs cases of tests/vm/capture.sh). Ganesha runs
# in userspace: this host's kernel has neither nfsd nor an NFS client. The
# guest reaches it through QEMU's user networking at 10.0.2.2. Sourced
# after lib.sh (VM_PY).

# free_port: a TCP port nothing on 127.0.0.1 listens on now.
free_port() { "$VM_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

ganesha_pid=""
# ganesha_start DIR EXPORT PROTOCOLS [PORT [MOUNTPORT]]: serves the
# directory EXPORT as /export (read-write, no root squash, TCP only) for
# PROTOCOLS ("4", or "3, 4": v3 needs rpcbind on 111), with its config,
# logs and recovery state in DIR. Sets ganesha_pid, ganesha_port and
# ganesha_mountport (new free ports unless given: a restart can keep them).
# Returns 1 if it does not listen within 20 s; ganesha_log then names why.
ganesha_start() {
	local dir=$1 export=$2 protocols=$3
	ganesha_port=${4:-$(free_port)} ganesha_mountport=${5:-$(free_port)}
	mkdir -p "$dir/recovery" "$export"
	cat >"$dir/ganesha.conf" <<-CONF
		NFS_CORE_PARAM {
		    Bind_addr = 127.0.0.1;
		    NFS_Port = $ganesha_port;
		    MNT_Port = $ganesha_mountport;
		    Protocols = $protocols;
		    mount_path_pseudo = true; # NFSv3 mounts /export too
		    Enable_NLM = false;
		    Enable_RQUOTA = false;
		    Enable_UDP = false;
		}
		NFSV4 {
		    Graceless = true; # no 90 s grace period at start
		    RecoveryBackend = fs;
		    RecoveryRoot = "$dir/recovery";
		    Only_Numeric_Owners = true;
		}
		NFS_KRB5 { Active_krb5 = false; }
		EXPORT {
		    Export_Id = 1;
		    Path = "$export";
		    Pseudo = "/export";
		    Access_Type = RW;
		    Squash = No_Root_Squash;
		    SecType = sys;
		    Protocols = $protocols;
		    Transports = TCP;
		    FSAL { Name = VFS; }
		}
		LOG { Default_Log_Level = EVENT; }
	CONF
	# No D-Bus here: Ganesha logs that it has none and serves anyway.
	ganesha.nfsd -F -f "$dir/ganesha.conf" -L "$dir/ganesha.log" -p "$dir/ganesha.pid" >"$dir/ganesha.out" 2>&1 &
	ganesha_pid=$!
	ganesha_log="$dir/ganesha.log $dir/ganesha.out"
	for _ in $(seq 100); do listening "$ganesha_port" && return 0; sleep 0.2; done
	return 1
}
# ganesha_stop: stops the server ganesha_start started (ours only, by pid).
ganesha_stop() {
	[[ -n $ganesha_pid ]] || return 0
	kill "$ganesha_pid" 2>/dev/null
	wait "$ganesha_pid" 2>/dev/null
	ganesha_pid=""
}
