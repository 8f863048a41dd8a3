#!/usr/bin/env python3
"""Wraps a tool's real output as a CI runner prints it.

usage: wrap.py STYLE SEED TITLE CMD RAW EXIT > LOG
STYLE is gha (GitHub Actions: timestamps, ##[group]), gitlab (section
markers, ANSI) or jenkins ([timestamp] prefixes). SEED makes the run's
clock, ids, temp paths and durations differ between the two runs of a pair.
"""
import random, sys, uuid, datetime

style, seed, title, cmd, rawpath, code = sys.argv[1:7]
rnd = random.Random(seed)
t = datetime.datetime(2026, 11, rnd.randint(1, 28), rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59), rnd.randint(0, 999999))
out = []

def tick(lo=0.0, hi=0.4):
    global t
    t += datetime.timedelta(seconds=rnd.uniform(lo, hi))

def emit(line):
    tick(0, 0.05)
    if style == "gha":
        out.append(t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z " + line)
    elif style == "jenkins":
        out.append("[" + t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ] " % (t.microsecond // 1000) + line)
    else:
        out.append(line)

raw = open(rawpath, encoding="utf-8", errors="replace").read().splitlines()
job = uuid.UUID(int=rnd.getrandbits(128))
tmp = uuid.UUID(int=rnd.getrandbits(128))
key = "%040x" % rnd.getrandbits(160)
size = rnd.randint(30_000_000, 90_000_000)

def progress(label):
    got = 0
    while got < size:
        got = min(size, got + rnd.randint(size // 5, size // 2))
        emit("Received %d of %d (%.1f%%), %.1f MBs/sec" % (got, size, 100.0 * got / size, rnd.uniform(8, 60)))
    emit("%s restored from key: Linux-%s-%s" % (label, title.split()[0].lower(), key[:16]))

if style == "gha":
    emit("Current runner version: '2.32%d.0'" % rnd.randint(0, 9))
    emit("##[group]Operating System")
    emit("Ubuntu")
    emit("24.04.1")
    emit("LTS")
    emit("##[endgroup]")
    emit("##[group]Runner Image")
    emit("Image: ubuntu-24.04")
    emit("Version: 2026112%d.%d" % (rnd.randint(0, 9), rnd.randint(1, 300)))
    emit("##[endgroup]")
    emit("Secret source: Actions")
    emit("Prepare workflow directory")
    emit("Prepare all required actions")
    emit("Getting action download info")
    emit("Download action repository 'actions/checkout@v4' (SHA:%s)" % key)
    emit("Complete job name: build")
    emit("##[group]Run actions/checkout@v4")
    emit("with:")
    emit("  repository: acme/widget")
    emit("##[endgroup]")
    emit("Syncing repository: acme/widget")
    emit("##[group]Fetching the repository")
    emit("[command]/usr/bin/git -c protocol.version=2 fetch --no-tags --prune --no-recurse-submodules --depth=1 origin +%s:refs/remotes/origin/main" % key)
    emit("From https://github.com/acme/widget")
    emit(" * [new ref]         %s -> origin/main" % key)
    emit("##[endgroup]")
    emit("##[group]Run actions/cache@v4")
    emit("##[endgroup]")
    progress("Cache")
    emit("##[group]Run " + cmd)
    emit("\x1b[36;1m" + cmd + "\x1b[0m")
    emit("shell: /usr/bin/bash -e {0}")
    emit("##[endgroup]")
    for l in raw:
        emit(l.replace("{TMP}", "/home/runner/work/_temp/" + str(tmp)))
    if code != "0":
        emit("##[error]Process completed with exit code %s." % code)
    emit("Post job cleanup.")
    emit("[command]/usr/bin/tar --posix -cf cache.tzst --exclude cache.tzst -P -C /home/runner/work/widget/widget --files-from manifest.txt --use-compress-program zstdmt")
    emit("Cache saved with key: Linux-%s" % key[:20])
    emit("Cleaning up orphan processes")
elif style == "gitlab":
    start = int(t.timestamp())
    emit("\x1b[0KRunning with gitlab-runner 17.%d.%d (%s)\x1b[0;m" % (rnd.randint(0, 6), rnd.randint(0, 3), key[:8]))
    emit("\x1b[0K  on docker-runner-%d %s, system ID: s_%s\x1b[0;m" % (rnd.randint(1, 9), key[8:16], key[16:28]))
    emit("section_start:%d:prepare_executor\r\x1b[0K\x1b[0K\x1b[36;1mPreparing the \"docker\" executor\x1b[0;m\x1b[0;m" % start)
    emit("\x1b[0KUsing Docker executor with image golang:1.26 ...\x1b[0;m")
    emit("\x1b[0KUsing docker image sha256:%s for golang:1.26 with digest golang@sha256:%s ...\x1b[0;m" % (key, key[::-1]))
    emit("section_end:%d:prepare_executor\r\x1b[0K" % (start + rnd.randint(2, 20)))
    emit("section_start:%d:get_sources\r\x1b[0K\x1b[0K\x1b[36;1mGetting source from Git repository\x1b[0;m\x1b[0;m" % (start + 21))
    emit("\x1b[32;1mFetching changes with git depth set to 20...\x1b[0;m")
    emit("Initialized empty Git repository in /builds/acme/widget/.git/")
    emit("\x1b[32;1mChecking out %s as detached HEAD (ref is main)...\x1b[0;m" % key[:8])
    emit("section_end:%d:get_sources\r\x1b[0K" % (start + 24))
    emit("section_start:%d:restore_cache\r\x1b[0K\x1b[0K\x1b[36;1mRestoring cache\x1b[0;m\x1b[0;m" % (start + 25))
    emit("\x1b[32;1mChecking cache for main-%s-protected...\x1b[0;m" % key[:6])
    emit("Downloading cache from https://storage.googleapis.com/runner-cache/project/%d/main-%s  \x1b[0;m ETag\x1b[0;m=\"%s\"" % (rnd.randint(1000, 9999), key[:6], key[:32]))
    emit("\x1b[32;1mSuccessfully extracted cache\x1b[0;m")
    emit("section_end:%d:restore_cache\r\x1b[0K" % (start + 30))
    emit("section_start:%d:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage of the job script\x1b[0;m\x1b[0;m" % (start + 31))
    emit("\x1b[32;1m$ " + cmd + "\x1b[0;m")
    for l in raw:
        emit(l.replace("{TMP}", "/builds/acme/widget/tmp." + str(tmp)[:10]))
    emit("section_end:%d:step_script\r\x1b[0K" % (start + 31 + rnd.randint(5, 90)))
    if code != "0":
        emit("\x1b[31;1mERROR: Job failed: exit code %s\n\x1b[0;m" % code)
    else:
        emit("\x1b[32;1mJob succeeded\x1b[0;m")
else:
    emit("Started by GitHub push by octocat")
    emit("Running as SYSTEM")
    emit("Building in workspace /var/jenkins/workspace/widget_main@%d" % rnd.randint(2, 4))
    emit("The recommended git tool is: NONE")
    emit(" > git rev-parse --resolve-git-dir /var/jenkins/workspace/widget_main/.git # timeout=10")
    emit("Checking out Revision %s (refs/remotes/origin/main)" % key)
    emit("[Pipeline] sh")
    emit("+ " + cmd)
    for l in raw:
        emit(l.replace("{TMP}", "/var/jenkins/workspace/widget_main@tmp/durable-" + str(tmp)[:8]))
    emit("[Pipeline] }")
    emit("[Pipeline] // stage")
    if code != "0":
        emit("ERROR: script returned exit code %s" % code)
        emit("Finished: FAILURE")
    else:
        emit("Finished: SUCCESS")
sys.stdout.write("\n".join(out) + "\n")
