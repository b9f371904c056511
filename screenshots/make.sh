#!/usr/bin/env bash
# Screenshots of the real binary in a real terminal: `vmware-audit demo` runs
# in tmux at 120x40, each view is captured with its colours, and rendered to
# PNG by render.py (pyte + Pillow, in a venv of their own).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "needs tmux (apt-get install tmux)"; exit 1; }
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || apt-get install -y -qq fonts-dejavu-core
venv=target/pyvenv-screenshots
[ -x $venv/bin/python ] || { python3 -m venv $venv && $venv/bin/pip install -q pyte pillow; }
cargo build --release --quiet
s=vmware-audit-shots
tmux kill-session -t $s 2>/dev/null || true
tmux new-session -d -s $s -x 120 -y 40 "TERM=xterm-256color target/release/vmware-audit demo"
tmux set -t $s escape-time 0
shot() { # name
  sleep 0.6
  tmux capture-pane -e -p -t $s > "target/$1.ansi"
  $venv/bin/python screenshots/render.py "target/$1.ansi" "screenshots/$1.png" 120 40
  echo "screenshots/$1.png"
}
keys() { for k in "$@"; do tmux send-keys -t $s "$k"; sleep 0.15; done; }
sleep 6                         # history loaded, agents calling
shot stream
keys S                          # the status picker, narrowed by typing
keys d e
shot picker
keys Escape d                   # denied only, newest denial opened
sleep 1
keys Enter
shot detail
keys Escape c Tab               # all rows, stats
sleep 1.5
shot stats
keys Tab e                       # the rule editor, a diagnostic typed in
sleep 1
keys C-f r e a s o n Enter Escape C-a
tmux send-keys -t $s -l '    min_risk_level: huge'
keys Enter
sleep 0.8
shot editor
keys Up C-a C-k BSpace          # take the typo out again, and widen the first
keys C-f e n v i r o n Enter Escape C-a C-k BSpace   # rule to every environment
keys F3 Tab Tab Enter            # replay the newest calls under the buffer
sleep 2
shot replay
keys Escape Escape y q
tmux kill-session -t $s 2>/dev/null || true
