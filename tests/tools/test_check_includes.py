"""tests/tools/check_includes.py (the folder rules of docs/design.md) catches what it must: an
upward include, an optimizer named in framework/, and passes allowed includes and comments."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import check_includes  # noqa: E402


def make_tree(tmp_path, files):
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return str(tmp_path)


def test_upward_include_and_optimizer_name_are_violations(tmp_path):
    root = make_tree(tmp_path, {
        "framework/nn/model.h": '#include "train/trainer.h"\n#include "core/error.h"\n',
        "framework/dist/plan.h": '#include "nn/parameter.h"\n',
        "framework/mup/init.cpp": 'bool f(const char* n) { return n == std::string("adamw"); }\n',
        "framework/optim/optimizer.h": '// "muon" in a comment is fine\n#include "nn/parameter.h"\n',
        "framework/backend/cpu/blas.h": '#include "backend/cuda/device.h"\n',
        "optimizers/muon.cpp": '#include "train/trainer.h"\nconst char* n = "muon";\n',
        "apps/cli.cpp": '#include "train/trainer.h"\n#include "optimizers/muon.h"\n',
    })
    problems = check_includes.check(root)
    text = "\n".join(problems)
    assert "framework/nn/model.h:1" in text
    assert "framework/dist/plan.h:1" in text
    assert "framework/mup/init.cpp:1: framework/ names an optimizer" in text
    assert "framework/backend/cpu/blas.h:1" in text
    assert "optimizers/muon.cpp:1" in text
    assert len(problems) == 5, text  # comments, allowed includes and apps/ are fine


def test_the_repository_follows_its_rules():
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    assert check_includes.check(os.path.abspath(root)) == []
