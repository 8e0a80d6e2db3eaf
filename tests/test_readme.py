"""The README's code stays true: its Python example runs and its test command is the one
CI runs."""
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def read(name):
    with open(os.path.join(ROOT, name)) as f:
        return f.read()


def test_readme_network_example_runs():
    code = read("README.md").split("## A network in a few lines")[1]
    code = code.split("```python")[1].split("```")[0]
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["spikes"].times.size > 50      # the neuron fires at tens of Hz


def test_ci_runs_the_readme_test_command():
    readme = read("README.md")
    command = readme.split("Run the tests:")[1].split("```bash")[1].split("```")[0].strip()
    assert command in read(".ci/run").splitlines()
