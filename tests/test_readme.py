"""The README's code stays true: its Python example runs, and its two commands (install
and run the main job; run the tests) are the ones CI runs first."""
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


def readme_commands():
    """The README's install-and-run command and its test command, verbatim."""
    readme = read("README.md")
    install = readme.split("Install and run the main job")[1].split("```bash")[1]
    install = install.split("```")[0].strip()
    test = readme.split("Run the tests:")[1].split("```bash")[1].split("```")[0].strip()
    return install, test


def test_ci_runs_the_readme_commands_first():
    install, test = readme_commands()
    assert "\n" not in install and "\n" not in test   # one line each
    lines = [l.strip() for l in read(".ci/run").splitlines()]
    assert install in lines, "CI must run the README's install command verbatim"
    assert test in lines, "CI must run the README's test command verbatim"
    i, t = lines.index(install), lines.index(test)
    assert i < t
    # nothing is installed before the README's install command (a green CI must not
    # hide a missing install step), and the extras come after the README's tests
    commands = [l for l in lines if l and not l.startswith("#")]
    assert not any("pip install" in l for l in commands[:commands.index(install)])
    extras = [k for k, l in enumerate(lines)
              if "pip install" in l and l != install and not l.startswith("#")]
    assert extras and all(k > t for k in extras)
    assert any("peers" in lines[k] and "dask" in lines[k] for k in extras)


def test_readme_rule_language_example_builds_and_runs():
    from plasticity import Network, SynapseMatrix
    from plasticity.neurons import LIFCond
    code = read("README.md").split("## A network in a few lines")[1]
    code = code.split("```python")[2].split("```")[0]
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    net = Network(dt=0.1, seed=0)
    inh = net.add_poisson("inh", 20, rates=20.0)
    exc = net.add_population("exc", 2, LIFCond(), init={"I_ext": 30.0})
    proj = net.connect(inh, exc, SynapseMatrix.all_to_all(20, 2, weight=0.1),
                       target="g_i", rule=scope["istdp"])
    w0 = proj.weights.copy()
    net.run(200.0)
    assert not (proj.weights == w0).all()
