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
