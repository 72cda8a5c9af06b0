import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_two_cpu_processes_stay_in_sync(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(REPO / "tests" / "ddp_worker.py"), str(tmp_path)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world_size"] == 2 for r in ranks)
    assert ranks[0]["first_batch"] != ranks[1]["first_batch"], "each rank must draw its own data"
    assert ranks[0]["moved"] > 0
    assert ranks[0]["params"] == ranks[1]["params"], "replicas diverged: gradients were not averaged"
    assert ranks[0]["tokens_seen"] == 5 * 4 * 16 * 2
