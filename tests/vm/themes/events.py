# SPDX-License-Identifier: MIT
"""Scheduled Events: shred on the events that deprovision this VM."""
import glob
import os
import sys

from themes.common import *  # noqa: F401,F403 (the themes' shared vocabulary)


def sched_event(eid, etype, resources, status="Scheduled"):
    return {"EventId": eid, "EventType": etype, "ResourceType": "VirtualMachine",
            "Resources": resources, "EventStatus": status, "NotBefore": "Mon, 19 Sep 2016 18:29:47 GMT",
            "Description": "", "EventSource": "Platform", "DurationInSeconds": -1}


# (name, events, shredded?, acknowledged ids). The VM is "node-0".
EVENT_CASES = [
    ("terminate-alone", [sched_event("e1", "Terminate", ["node-0"])], True, ["e1"]),
    ("preempt-shared", [sched_event("e2", "Preempt", ["node-0", "node-1"])], True, []),
    ("terminate-started", [sched_event("e3", "Terminate", ["node-0"], "Started")], True, []),
    ("redeploy-system", [sched_event("e4", "Redeploy", ["node-0"])], False, []),
    ("reboot", [sched_event("e5", "Reboot", ["node-0"])], False, []),
    ("other-vm", [sched_event("e6", "Terminate", ["node-1"])], False, []),
    ("forty-events", [sched_event(f"f{i}", "Freeze", ["node-0"]) for i in range(39)]
     + [sched_event("e7", "Preempt", ["NODE-0"])], True, ["e7"]),
]


@scenario
def scheduled_events(build_dir):
    """Scheduled Events as documented: shred on Terminate/Preempt (Scheduled or Started), acknowledge only events for this VM alone, any number of events, a first call that takes 20 s."""
    import json
    import urllib.request
    node = hbi_node(build_dir, "scheduled_events")
    ks = KeyService(node)
    try:
        script = conf() + 'net_up ""\n' + DEVICES + RESLINK + r"""
ev_case() {
	expect_rc 0 scratchcrypt -q start
	emu_config "{\"events\": $2}"
	t0=$(date +%s); rc=0; scratchcrypt watch-events --once 2>/tmp/err || rc=$?; t1=$(date +%s)
	if cryptsetup isLuks $RES; then what=kept; else what=shredded; fi
	echo "SC-VALUE ev-$1=$rc $what $((t1 - t0))"
	echo "SC-BLOCK-BEGIN log-$1"; cat /tmp/err; echo "SC-BLOCK-END"
	emu_config '{"events": [], "events_latency": 0}'
}
"""
        for name, events, _, _ in EVENT_CASES:
            script += f"ev_case {name} '{json.dumps(events)}'\n"
        script += ("emu_config '{\"events_latency\": 20}'\n"
                   f"ev_case first-call-slow '{json.dumps([sched_event('e8', 'Terminate', ['node-0'])])}'\n"
                   "true\n")
        r = node.boot(script)
        acks = json.load(urllib.request.urlopen(f"http://127.0.0.1:{ks.imds_port}/_emu/log"))["acks"]
        bad = []
        cases = EVENT_CASES + [("first-call-slow", [sched_event("e8", "Terminate", ["node-0"])], True, ["e8"])]
        for name, events, shred, acked in cases:
            rc, what, secs = r.value(f"ev-{name}").split()
            ids = {e["EventId"] for e in events}
            ours = sorted({a for a in acks if a in ids})
            ok = rc == "0" and what == ("shredded" if shred else "kept") and ours == sorted(acked)
            if name == "first-call-slow":
                ok = ok and int(secs) >= 20
            print(f"  {'ok  ' if ok else 'FAIL'} {name}: exit {rc}, disks {what} in {secs} s, acknowledged {sorted(set(ours))}")
            if not ok:
                bad.append(f"{name}: exit {rc}, {what}, acks {ours}, wanted shred={shred} acks={acked}: "
                           + r.block(f"log-{name}")[-300:])
        check(not bad, "scheduled events: " + " | ".join(bad))
    finally:
        ks.stop()


@scenario
def events_handoff(build_dir):
    """The unprivileged watcher hands the shred to a privileged instance through a socket (as scratchcrypt-shred.socket does), which checks IMDS itself; a Preempt arriving while a start runs (paused at a named step) is shredded for within the 30 s notice."""
    import json
    import urllib.request
    node = standard_node(build_dir, "events_handoff", foreign=False)
    node.files["/usr/sbin/sockact"] = os.path.join(build_dir, "tests", "sockact")
    ks = KeyService(node)
    try:
        preempt = json.dumps([sched_event("p1", "Preempt", ["node-0"])])
        r = node.boot(conf() + 'net_up ""\n' + DEVICES + RESLINK + f"""
echo "scevents:x:61000:61000::/:/bin/sh" >>/etc/passwd; echo "scevents:x:61000:" >>/etc/group
chmod 0644 /etc/scratchcrypt/scratchcrypt.conf
# As the unprivileged watcher runs: not root, no access to /run/scratchcrypt.
as_watcher() {{ su -s /bin/sh scevents -c "$*"; }}
sockact /run/scratchcrypt-shred.sock scratchcrypt watch-events --once --reply 2>/tmp/shred.log &

step "a request carries no authority: with no event, nothing is shredded"
expect_rc 0 scratchcrypt -q start
rc=0; as_watcher "scratchcrypt watch-events --once --handoff /run/scratchcrypt-shred.sock" 2>/tmp/w0 || rc=$?
[ $rc = 0 ] || fail "the watcher exited $rc: $(cat /tmp/w0)"
cryptsetup isLuks $RES || fail "shredded without an event"
as_watcher "sockact -c /run/scratchcrypt-shred.sock 'shred made-up'" >/tmp/answer
grep -q "^result ok" /tmp/answer || fail "no result for a request: $(cat /tmp/answer)"
cryptsetup isLuks $RES || fail "a request without an event shredded the disks"

step "a Preempt while a start runs: the start is stopped, the disks shredded within the notice"
expect_rc 0 scratchcrypt -q stop
SCRATCHCRYPT_CRASH_AT=mkfs SCRATCHCRYPT_CRASH_MODE=pause setsid scratchcrypt start 2>/tmp/start.err &
for i in $(seq 300); do grep -q "crash point mkfs" /tmp/start.err && break; sleep 0.1; done
grep -q "crash point mkfs" /tmp/start.err || fail "start did not reach mkfs: $(cat /tmp/start.err)"
grep -q " start" /run/scratchcrypt/lock || fail "the lock does not name the running start: $(cat /run/scratchcrypt/lock)"
emu_config '{{"events": {preempt}}}'
t0=$(date +%s)
rc=0; as_watcher "scratchcrypt watch-events --once --handoff /run/scratchcrypt-shred.sock" 2>/tmp/w1 || rc=$?
t1=$(date +%s)
echo "SC-VALUE handoff=$rc $((t1 - t0))"
echo "SC-BLOCK-BEGIN watcher"; cat /tmp/w1; echo "SC-BLOCK-END"
echo "SC-BLOCK-BEGIN shred"; cat /tmp/shred.log; echo "SC-BLOCK-END"
sleep 1
pidof scratchcrypt | tr ' ' '\\n' | while read p; do
	grep -q "watch-events" /proc/$p/cmdline 2>/dev/null || fail "a start process is left: $p"
done
for d in $NA $NB $RES; do cryptsetup isLuks $d && fail "$d keeps its header after the Preempt"; done
dmsetup ls | grep -q scratchcrypt && fail "mappings left: $(dmsetup ls)"
{json_out("status", "scratchcrypt --json status")}
true
""")
        rc, secs = r.value("handoff").split()
        watcher, shred = r.block("watcher"), r.block("shred")
        check(rc == "0", f"the watcher exited {rc}: {watcher}")
        check(int(secs) < 30, f"the shred took {secs} s, beyond a Preempt's 30 s notice")
        check("stopping it" in shred and "running start" in shred, f"the running start was not stopped: {shred}")
        check("shredded the local disks" in watcher, f"the watcher did not see the result: {watcher}")
        acks = json.load(urllib.request.urlopen(f"http://127.0.0.1:{ks.imds_port}/_emu/log"))["acks"]
        check(acks == ["p1"], f"acknowledged: {acks} (the privileged side, once)")
        check(role_row(r.json("status"), "temp")["state"] == "shredded", "status does not say shredded")
        print(f"  ok   Preempt during a paused start: shredded and acknowledged in {secs} s")
    finally:
        ks.stop()
