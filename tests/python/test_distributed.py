"""Two processes of a torch.distributed (Gloo) job record one run: exactly one writer, nothing doubled, whether
the rank comes from the launcher's environment (torchrun) or from an initialised process group (mp.spawn)."""
import os
import re
import subprocess
import unittest

from support import PYTHON, env, events, lbk_json, needs_lbk, needs_torch, query, script, temp_dir

TRAIN = """
import os, sys
import torch, torch.distributed as dist
import labbook

def train(rank, world, journal, store):
    if "RANK" not in os.environ:  # mp.spawn: the group first, then labbook.init asks it for the rank
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=sys.argv[3])
        dist.init_process_group("gloo", rank=rank, world_size=world)
        run = labbook.init(journal=journal, config={"world": world})
    else:  # torchrun: labbook.init before the group, from RANK
        run = labbook.init(config={"world": world}, name="ddp", store=store)
        dist.init_process_group("gloo")
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(1, 11):
        x = torch.randn(8, 4) + rank
        loss = torch.nn.functional.cross_entropy(model(x), torch.zeros(8, dtype=torch.long))
        opt.zero_grad(); loss.backward(); opt.step()
        mean = loss.detach().clone(); dist.all_reduce(mean); mean /= world
        run.log({"train/loss": mean, "rank_loss": loss}, step=step)
    probs = torch.softmax(model(torch.randn(6, 4)), dim=1)
    run.evaluation("val", labels=["a", "b"], truth=[0, 1, 0, 1, 0, 1], probs=probs, ids=list("uvwxyz"))
    run.finish()
    dist.barrier()
    print(f"rank {rank} main={run.main}", flush=True)
    dist.destroy_process_group()

if __name__ == "__main__":
    journal, store = sys.argv[1], sys.argv[2]
    if "RANK" in os.environ:
        train(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), journal, store)
    else:
        import torch.multiprocessing as mp
        mp.spawn(train, args=(2, journal, store), nprocs=2)
"""


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@needs_torch
class DistributedTest(unittest.TestCase):
    def check_one_writer(self, got):
        self.assertEqual([e["type"] for e in got].count("run_started"), 1)
        self.assertEqual([e["seq"] for e in got], list(range(1, len(got) + 1)))
        steps = [e["step"] for e in got if e["type"] == "metrics" and "train/loss" in e["values"]]
        self.assertEqual(steps, list(range(1, 11)))
        self.assertEqual([e["type"] for e in got].count("predictions"), 1)
        self.assertEqual(got[-1]["type"], "finished")

    def test_spawned_processes_write_once(self):
        journal = os.path.join(temp_dir(self), "journal.jsonl")
        done = subprocess.run([PYTHON, script(self, TRAIN), journal, "", free_port()], env=env(), capture_output=True,
                              text=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr)
        # The two processes share stdout, so their lines may interleave: find each one's report wherever it is.
        reports = sorted(re.findall(r"rank \d main=(?:True|False)", done.stdout))
        self.assertEqual(reports, ["rank 0 main=True", "rank 1 main=False"], done.stdout)
        self.check_one_writer(events(journal))

    @needs_lbk
    def test_launcher_started_processes_write_once_into_the_store(self):
        # Started as torchrun starts them (RANK, WORLD_SIZE, MASTER_* in the environment); torchrun itself is not
        # used: Debian's torch 1.13 fails to parse its own --redirects default on Python 3.11.
        store, port, path = os.path.join(temp_dir(self), "store.db"), free_port(), script(self, TRAIN)
        procs = [subprocess.Popen([PYTHON, path, "", store], env=env(RANK=r, LOCAL_RANK=r, WORLD_SIZE=2,
                                                                     MASTER_ADDR="127.0.0.1", MASTER_PORT=port),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in (0, 1)]
        outs = [p.communicate(timeout=300) for p in procs]
        self.assertEqual([p.returncode for p in procs], [0, 0], [err for _, err in outs])
        self.assertEqual([out.strip() for out, _ in outs], ["rank 0 main=True", "rank 1 main=False"])
        runs = lbk_json(store, "runs")
        self.assertEqual(len(runs), 1)
        self.assertEqual((runs[0]["name"], runs[0]["status"]), ("ddp", "finished"))
        self.check_one_writer(events(os.path.join(runs[0]["run_dir"], "journal.jsonl")))
        self.assertEqual(query(store, "SELECT count(*) FROM metrics WHERE key = 'train/loss'"), [(10,)])


if __name__ == "__main__":
    unittest.main()
