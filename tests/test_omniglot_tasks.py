"""plasticity.tasks.omniglot: alphabet split, episodes, encodings, baselines, and the
all_runs.zip loader, on the real Omniglot files (skipped when they are absent)."""
import numpy as np
import pytest
from _data import find_dataset

from plasticity.datasets import load_omniglot_runs
from plasticity.tasks.omniglot import (Episode, OmniglotTasks, downsample_area,
                                      encode_episode, encode_images, evaluate_episodes,
                                      lake_runs, mean_confidence_interval,
                                      nearest_neighbour, preprocess_images,
                                      split_classes, stack_episodes)


ZIPS = ("images_background_small1.zip", "images_background_small2.zip", "all_runs.zip")


def find_omniglot():
    """A directory with the Omniglot zips, or None."""
    return find_dataset("omniglot", ZIPS)


OMNIGLOT = find_omniglot()
needs_omniglot = pytest.mark.skipif(OMNIGLOT is None, reason="Omniglot zips not found "
                                    "(see data/README.md)")


@pytest.fixture(scope="session")
def tasks():
    return OmniglotTasks(OMNIGLOT, size=14)


# ------------------------------------------------------------- no data needed
def test_downsample_area_keeps_mean_and_blocks():
    rng = np.random.default_rng(0)
    img = rng.random((3, 105, 105))
    for size in (28, 14, 10, 7):
        out = downsample_area(img, size)
        assert out.shape == (3, size, size)
        np.testing.assert_allclose(out.mean((1, 2)), img.mean((1, 2)), rtol=1e-12)
    # an integer ratio is plain block averaging
    np.testing.assert_allclose(downsample_area(img, 7)[0, 2, 3],
                               img[0, 30:45, 45:60].mean(), rtol=1e-12)
    with pytest.raises(ValueError, match="size must be an integer in"):
        downsample_area(img, 106)
    with pytest.raises(ValueError, match="square"):
        downsample_area(img[:, :, :50], 10)


def test_preprocess_range_center_normalize():
    img = np.zeros((1, 105, 105), np.uint8)
    img[0, 0:10, 0:10] = 255                     # ink in the corner
    x = preprocess_images(img, 21)
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    assert x[0, 0, 0] == 1 and x[0, 10, 10] == 0
    c = preprocess_images(img, 21, center=True)
    assert c[0, 0, 0] == 0 and c[0, 10, 10] == 1  # moved to the centre
    n = preprocess_images(img // 2, 21, normalize="max")
    assert n.max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="normalize must be None or .max., got .l2."):
        preprocess_images(img, 21, normalize="l2")


def test_encode_images_poisson_rates_and_windows():
    rng = np.random.default_rng(1)
    imgs = rng.random((2, 3, 50))                 # B=2, K=3, D=50
    x, w = encode_images(imgs, t_present=400, t_gap=20, max_rate=250.0, rng=5)
    assert x.shape == (3 * 420, 2, 50) and x.dtype == np.float32
    np.testing.assert_array_equal(w, [[0, 400], [420, 820], [840, 1240]])
    assert set(np.unique(x)) <= {0.0, 1.0}
    for k, (a, b) in enumerate(w):
        assert x[b:b + 20].sum() == 0            # silent gaps
        p = 0.25 * imgs[:, k]                    # (B, D) spike probability per step
        rate = x[a:b].mean(0)
        z = (rate - p) / np.sqrt(p * (1 - p) / 400 + 1e-12)
        assert np.abs(z).max() < 5
    # pooled check: total spike count within 4 sigma of its expectation
    p_all = np.repeat(0.25 * imgs.transpose(1, 0, 2)[:, None], 400, 1)
    n = x.reshape(3, 420, 2, 50)[:, :400].sum()
    assert abs(n - p_all.sum()) < 4 * np.sqrt((p_all * (1 - p_all)).sum())
    x2, _ = encode_images(imgs, t_present=400, t_gap=20, max_rate=250.0, rng=5)
    np.testing.assert_array_equal(x, x2)
    x3, _ = encode_images(imgs, t_present=400, t_gap=20, max_rate=250.0, rng=6)
    assert not np.array_equal(x, x3)


def test_encode_images_current_and_errors():
    imgs = np.linspace(0, 1, 12).reshape(3, 4)
    x, w = encode_images(imgs, t_present=5, t_gap=2, mode="current", amplitude=2.0,
                         dtype=np.float64)
    assert x.shape == (21, 1, 4)
    np.testing.assert_array_equal(x[0:5, 0], np.repeat(2 * imgs[:1], 5, 0))
    np.testing.assert_array_equal(x[5:7], 0)
    np.testing.assert_array_equal(x[14:19, 0], np.repeat(2 * imgs[2:], 5, 0))
    with pytest.raises(ValueError, match=r"max_rate \* dt / 1000 must be <= 1"):
        encode_images(imgs, max_rate=2000.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        encode_images(imgs, mode="latency")
    with pytest.raises(ValueError, match="t_present must be an integer in"):
        encode_images(imgs, t_present=0)
    with pytest.raises(ValueError, match=r"intensities in \[0, 1\]"):
        encode_images(imgs * 2)
    with pytest.raises(ValueError, match="shape"):
        encode_images(np.zeros(5))


def test_nearest_neighbour_and_confidence_interval():
    s = np.eye(3)
    q = np.array([[0.9, 0.1, 0], [0, 0, 2.0], [0.1, 0.8, 0.3]])
    np.testing.assert_array_equal(nearest_neighbour(s, [2, 0, 1], q), [2, 1, 0])
    np.testing.assert_array_equal(nearest_neighbour(s, [2, 0, 1], q, "cosine"), [2, 1, 0])
    with pytest.raises(ValueError, match="metric must be one of"):
        nearest_neighbour(s, [0, 1, 2], q, "manhattan")
    m, h = mean_confidence_interval([0.4, 0.5, 0.6, 0.5, 0.5])
    assert m == pytest.approx(0.5)
    assert h == pytest.approx(2.7764451 * np.std([0.4, 0.5, 0.6, 0.5, 0.5], ddof=1)
                              / np.sqrt(5), rel=1e-6)
    eps = [Episode(s, np.arange(3), s, np.array([0, 1, 2]), np.arange(3))] * 4
    r = evaluate_episodes(lambda e: e.support_y, eps)
    assert r.accuracy == 1 and r.ci95 == 0 and r.per_episode.shape == (4,)
    with pytest.raises(ValueError, match="one label per query"):
        evaluate_episodes(lambda e: np.zeros(2), eps)


# ---------------------------------------------------------------- real data
@needs_omniglot
def test_alphabet_split_counts_and_disjoint(tasks):
    assert len(tasks.alphabets) == 8 and len(tasks.names) == 242
    assert tasks.images.shape == (242, 20, 14, 14) and tasks.images.dtype == np.float32
    assert tasks.test_alphabets == ("Greek", "Korean")
    assert set(tasks.train_alphabets) | set(tasks.test_alphabets) == set(tasks.alphabets)
    assert not set(tasks.train_alphabets) & set(tasks.test_alphabets)
    c = tasks.counts()
    assert c["train"]["characters"] == 178 and c["test"]["characters"] == 64
    tr = {n.split("/")[0] for n in tasks.class_names("train")}
    te = {n.split("/")[0] for n in tasks.class_names("test")}
    assert tr == set(tasks.train_alphabets) and te == set(tasks.test_alphabets)
    assert not set(tasks.class_names("train")) & set(tasks.class_names("test"))
    assert tasks.class_images("test").shape == (64, 20, 196)


@needs_omniglot
@pytest.mark.parametrize("kw", [{}, dict(test_alphabets=["Tagalog"], rotations=True),
                                dict(split_seed=1, n_test_alphabets=3)])
def test_split_classes_from_the_zip_indexes_alone(kw):
    """What a config check reads without loading an image (scherr_oneshot_omniglot's
    n_way): the classes of each split, as the tasks of the same arguments have."""
    t = OmniglotTasks(OMNIGLOT, size=7, **kw)
    assert split_classes(OMNIGLOT, **kw) == {s: t.n_classes(s) for s in ("train", "test")}


@needs_omniglot
def test_split_options_and_rotations():
    t = OmniglotTasks(OMNIGLOT, size=7, test_alphabets=["Tagalog"], rotations=True)
    assert t.test_alphabets == ("Tagalog",) and len(t.train_alphabets) == 7
    assert t.n_classes("test") == 17 and t.n_classes("train") == 4 * 225
    x = t.class_images("train").reshape(-1, 20, 7, 7)
    np.testing.assert_array_equal(x[225], np.rot90(x[0], 1, axes=(1, 2)))
    assert t.class_names("train")[225].endswith("@90")
    t2 = OmniglotTasks(OMNIGLOT, size=7, split_seed=1, n_test_alphabets=3)
    assert len(t2.test_alphabets) == 3 and t2.test_alphabets != ("Greek", "Korean")
    with pytest.raises(ValueError, match="test_alphabets must be"):
        OmniglotTasks(OMNIGLOT, size=7, test_alphabets=["Klingon"])
    with pytest.raises(ValueError, match="n_test_alphabets must be an integer in"):
        OmniglotTasks(OMNIGLOT, size=7, n_test_alphabets=8)
    with pytest.raises(ValueError, match="size must be an integer in"):
        OmniglotTasks(OMNIGLOT, size=0)


@needs_omniglot
def test_episode_shapes_labels_and_queries(tasks):
    rng = np.random.default_rng(3)
    for _ in range(20):
        ep = tasks.sample_episode("test", n_way=5, n_query=3, rng=rng)
        assert ep.support_x.shape == (5, 196) and ep.query_x.shape == (15, 196)
        assert sorted(ep.support_y) == list(range(5))
        assert np.bincount(ep.query_y, minlength=5).tolist() == [3] * 5
        assert len(set(ep.classes)) == 5
        X = tasks.class_images("test")
        for x, y in zip(ep.support_x, ep.support_y):   # support = an image of its class
            assert any(np.array_equal(x, X[ep.classes[y], d]) for d in range(20))
        for y in range(5):                             # queries: other drawers
            s = ep.support_x[ep.support_y == y][0]
            q = ep.query_x[ep.query_y == y]
            assert not any(np.array_equal(s, qq) for qq in q)
            for qq in q:
                assert any(np.array_equal(qq, X[ep.classes[y], d]) for d in range(20))
    # labels are not tied to presentation order
    orders = {tuple(tasks.sample_episode("train", 5, rng=rng).support_y) for _ in range(30)}
    assert len(orders) > 10
    ep = tasks.sample_episode("test", 20, within_alphabet=True, rng=rng)
    assert len({tasks.class_names("test")[c].split("/")[0] for c in ep.classes}) == 1
    with pytest.raises(ValueError, match="within_alphabet=True needs an alphabet"):
        tasks.sample_episode("test", 60, within_alphabet=True)
    with pytest.raises(ValueError, match="n_query must be an integer in"):
        tasks.sample_episode("test", 5, n_query=20)
    with pytest.raises(ValueError, match="n_way must be an integer in"):
        tasks.sample_episode("test", 65)
    with pytest.raises(ValueError, match="split must be one of"):
        tasks.sample_episode("val", 5)


@needs_omniglot
def test_determinism(tasks):
    a = tasks.episodes("train", 5, n_way=5, n_query=2, seed=11)
    b = tasks.episodes("train", 5, n_way=5, n_query=2, seed=11)
    c = tasks.episodes("train", 5, n_way=5, n_query=2, seed=12)
    for ea, eb in zip(a, b):
        for fa, fb in zip(ea, eb):
            assert fa.dtype == fb.dtype and np.array_equal(fa, fb)
    assert not all(np.array_equal(ea.classes, ec.classes) for ea, ec in zip(a, c))
    batch = tasks.sample_batch("train", 5, n_way=5, n_query=2, rng=11)
    assert batch.support_x.shape == (5, 5, 196) and batch.query_y.shape == (5, 10)
    for i, e in enumerate(a):
        np.testing.assert_array_equal(batch.query_x[i], e.query_x)
    # a second instance (cached zips) gives the same bits
    t2 = OmniglotTasks(OMNIGLOT, size=14)
    e2 = t2.episodes("train", 5, n_way=5, n_query=2, seed=11)
    assert all(np.array_equal(x.support_x, y.support_x) for x, y in zip(a, e2))


@needs_omniglot
def test_encode_episode(tasks):
    ep = tasks.sample_batch("test", 2, n_way=5, n_query=2, rng=0)
    enc = encode_episode(ep, t_present=30, t_gap=5, max_rate=200.0, rng=1,
                         t_present_query=20, t_gap_query=0)
    assert enc.x_support.shape == (175, 2, 196) and enc.x_query.shape == (200, 2, 196)
    assert enc.label_support.shape == (175, 2, 5)
    for k, (a, b) in enumerate(enc.support_windows):
        for i in range(2):
            assert (enc.label_support[a:b, i].argmax(1) == ep.support_y[i, k]).all()
        assert enc.label_support[b:b + 5].sum() == 0
    np.testing.assert_array_equal(enc.query_windows[:, 1] - enc.query_windows[:, 0], 20)
    single = encode_episode(tasks.sample_episode("test", 5, rng=0), t_present=10, rng=2)
    assert single.x_support.shape == (50, 1, 196) and single.support_y.shape == (1, 5)
    again = encode_episode(tasks.sample_episode("test", 5, rng=0), t_present=10, rng=2)
    np.testing.assert_array_equal(single.x_query, again.x_query)


@needs_omniglot
def test_pixel_nn_above_chance(tasks):
    eps = tasks.episodes("test", 200, n_way=5, n_query=1, seed=0)
    r = evaluate_episodes(lambda e: nearest_neighbour(e.support_x, e.support_y,
                                                      e.query_x), eps)
    assert r.ci_low > 0.30 and r.accuracy < 0.7          # chance 0.2
    assert r.ci_low < r.accuracy < r.ci_high
    # batched episodes: each row counts as one episode, same result
    batches = stack_episodes(eps, batch_size=64)
    assert len(batches) == 4 and batches[-1].support_x.shape == (8, 5, 196)
    rb = evaluate_episodes(lambda b: np.stack([nearest_neighbour(*a) for a in zip(
        b.support_x, b.support_y, b.query_x)]), batches)
    np.testing.assert_array_equal(rb.per_episode, r.per_episode)
    with pytest.raises(ValueError, match="same shapes"):
        stack_episodes([eps[0], tasks.sample_episode("test", 6, rng=0)])


@needs_omniglot
def test_lake_runs():
    train, test, labels = load_omniglot_runs(OMNIGLOT)
    assert train.shape == (20, 20, 105, 105) and test.shape == (20, 20, 105, 105)
    assert train.dtype == np.uint8 and train.max() == 255
    assert (train > 0).mean() < 0.2                      # strokes are the minority
    for r in labels:                                      # each run's key: a permutation
        assert sorted(r) == list(range(20))
    assert labels[0, :5].tolist() == [7, 8, 1, 18, 9]     # run01: items 1-5 -> classes
    eps = lake_runs(OMNIGLOT, size=14)
    assert len(eps) == 20 and eps[0].support_x.shape == (20, 196)
    assert eps[0].query_x.shape == (20, 196)
    np.testing.assert_array_equal(eps[3].query_y, labels[3])
    r = evaluate_episodes(lambda e: nearest_neighbour(e.support_x, e.support_y,
                                                      e.query_x), eps)
    assert r.accuracy > 0.1                               # chance 0.05


@needs_omniglot
def test_transformed_tasks_keep_the_episodes(tasks):
    """A feature view of the tasks draws the same episodes (classes, drawers, order)
    with the same generator state; only the vectors differ."""
    def fn(images):                     # a deterministic map to 3 features per image
        return np.stack([images.mean((1, 2)), images.max((1, 2)),
                         images[:, :7].sum((1, 2))], axis=1)
    ft = tasks.transformed(fn)
    assert ft.n_inputs == 3 and tasks.n_inputs == 196
    assert ft.class_images("test").shape == tasks.class_images("test").shape[:2] + (3,)
    a = tasks.sample_episode("test", 5, n_query=2, rng=7)
    b = ft.sample_episode("test", 5, n_query=2, rng=7)
    np.testing.assert_array_equal(a.support_y, b.support_y)
    np.testing.assert_array_equal(a.query_y, b.query_y)
    np.testing.assert_array_equal(a.classes, b.classes)
    side = (tasks.size, tasks.size)
    np.testing.assert_allclose(b.support_x, fn(a.support_x.reshape(-1, *side)), rtol=1e-6)
    np.testing.assert_allclose(b.query_x, fn(a.query_x.reshape(-1, *side)), rtol=1e-6)
    with pytest.raises(ValueError, match="2-d"):
        tasks.transformed(lambda im: im)
    # unit_range: one constant, the meta-train maximum, then clipped to [0, 1]
    ut = tasks.transformed(fn, unit_range=True)
    scale = float(fn(tasks.class_images("train").reshape(-1, *side)).max())
    assert ut.feature_scale == scale and ft.feature_scale == 1.0
    assert ut.class_images("train").max() == 1.0
    expect = np.clip(fn(tasks.class_images("test").reshape(-1, *side)) / scale, 0, 1)
    np.testing.assert_array_equal(ut.class_images("test").reshape(expect.shape),
                                  expect.astype(np.float32))


@needs_omniglot
def test_stdp_features_separate_new_characters_better_than_pixels():
    """The unsupervised STDP conv features, fitted on meta-train images only, make the
    held-out characters more separable for a cosine 1-NN than the pixels are: the
    reason the one-shot learner sees them (measured with the full budget: 5-way 1-NN
    79.5% vs 46.8% on 10 px pixels; here half the characters and 3000 images per
    layer, 78%: the learning rate reaches its maximum after ~2500 images, and with
    2000 the layers have not converged and the features are no better than pixels)."""
    from plasticity.tasks.omniglot import fit_stdp_features
    t = OmniglotTasks(OMNIGLOT, size=28)
    train = t.class_images("train")[::2].reshape(-1, 28, 28)       # 89 characters
    net = fit_stdp_features(train, grid=2, n_images=3000, random_state=0)
    net2 = fit_stdp_features(train[:40], grid=2, n_images=50, random_state=3)
    net3 = fit_stdp_features(train[:40], grid=2, n_images=50, random_state=3)
    for w, w3 in zip(net2.weights_, net3.weights_):                # same seed, same net
        np.testing.assert_array_equal(w, w3)
    ft = t.transformed(net.transform)
    assert ft.n_inputs == 400
    rng = np.random.default_rng(0)
    acc_f, acc_p = [], []
    for _ in range(300):
        s = rng.integers(1 << 30)
        e, p = ft.sample_episode("test", 5, rng=s), t.sample_episode("test", 5, rng=s)
        acc_f.append(np.mean(nearest_neighbour(e.support_x, e.support_y, e.query_x,
                                               "cosine") == e.query_y))
        acc_p.append(np.mean(nearest_neighbour(p.support_x, p.support_y, p.query_x,
                                               "cosine") == p.query_y))
    assert np.mean(acc_f) > np.mean(acc_p) + 0.2, (np.mean(acc_f), np.mean(acc_p))
    with pytest.raises(ValueError, match="images must be"):
        fit_stdp_features(np.zeros(10))
