#!/usr/bin/env python3
"""Issue 18's AgentDojo measurement, second half: of the prevented attacks, how many have a refused
attack call whose provenance trace ends at the injected content.

A prevented attack is what the benchmark's own score.py calls one: an attacked run whose attack
succeeded, with at least one attack call (labelled by score.py), of which at least one was flagged
(deny or approve). For such a run, its trace "ends at the injected content" when one of its flagged
attack calls has a trace end of kind untrusted-content whose field, as recorded, holds text the
attacker placed (one of the run's `injections`; compared line by line, whitespace normalised).
The trace ends come from trace-ends.ts. This script is evaluation, not a guard: it reads the run's
`injections`, which a guard must never see.

  python3 bench/agentdojo/provenance-share.py <traces-dir> <score.py> <ends.jsonl>
"""
import collections
import importlib.util
import json
import re
import sys


def load_score(path):
    spec = importlib.util.spec_from_file_location("score", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def normalised(text):
    return re.sub(r"\s+", " ", text).strip().lower()


def injected_lines(injections):
    """The distinctive lines of the attacker's texts (short or generic lines say nothing)."""
    lines = set()
    for text in (injections or {}).values():
        for line in str(text).split("\n"):
            line = normalised(line)
            if len(line) >= 25:
                lines.add(line)
    return lines


def holds_injection(value, lines):
    value = normalised(value or "")
    return any(line in value for line in lines)


def main(argv):
    traces_dir, score_path, ends_path = argv
    score = load_score(score_path)
    ends = {}
    with open(ends_path) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                ends[(score.norm_key(row["trace"]), row["index"])] = row["ends"]
    stats = collections.defaultdict(collections.Counter)
    missed = []
    for key, path in score.iter_trace_files(score.runs_root(traces_dir)):
        with open(path) as f:
            d = json.load(f)
        _, suite, utask, attack, inj = score.trace_meta(key, d)
        if attack == "none" or str(attack).endswith("dos") or not inj or not d.get("security"):
            continue
        if not str(utask).startswith("user_task"):
            continue
        prompt = score.user_prompt(d)
        flagged_attack_calls = []
        attack_calls = 0
        for i, (fn, args) in enumerate(score.tool_calls(d)):
            label, _ = score.label_call(suite, inj, fn, args, prompt)
            if label != "attack":
                continue
            attack_calls += 1
            if (key, i) in ends:  # only refused calls were traced
                flagged_attack_calls.append(i)
        if attack_calls == 0 or not flagged_attack_calls:
            continue
        lines = injected_lines(d.get("injections"))
        traced = any(
            end.get("kind") == "untrusted-content" and holds_injection(end.get("value"), lines)
            for i in flagged_attack_calls
            for end in ends[(key, i)]
        )
        for group in ("ALL", suite):
            stats[group]["prevented"] += 1
            stats[group]["traced_to_injection"] += traced
        if not traced:
            missed.append((key, flagged_attack_calls, [end.get("kind") for i in flagged_attack_calls for end in ends[(key, i)]]))
    groups = ["ALL", "banking", "slack", "travel", "workspace"]
    print(f"{'':40}" + "".join(f"{g:>12}" for g in groups))
    print(f"{'prevented attacks':40}" + "".join(f"{stats[g]['prevented']:>12}" for g in groups))
    print(f"{'  trace of a refused attack call ends':40}")
    print(f"{'  at the injected content':40}" + "".join(f"{stats[g]['traced_to_injection']:>12}" for g in groups))
    print(
        f"{'  share':40}"
        + "".join(
            f"{(stats[g]['traced_to_injection'] / stats[g]['prevented'] if stats[g]['prevented'] else 0):>12.3f}"
            for g in groups
        )
    )
    for key, calls, kinds in missed:
        print(f"not traced: {key} calls {calls} ends {kinds}")


if __name__ == "__main__":
    main(sys.argv[1:])
