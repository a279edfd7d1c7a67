"""The all-reduce wire without Spark: bfloat16 kernels, the TCP ring (threads as ranks), the secret."""

import os
import socket
import threading

import numpy as np
import pytest

from zoo.engine import _native
from zoo.engine.distributed.comm import AuthenticationError, Ring, _client_handshake, listen
from zoo.engine.kernels import comm as K
from zoo.engine.parallel import chunk_bounds

# ---- bfloat16 kernels ---------------------------------------------------------------------------


def bf16_naive(x: np.ndarray) -> np.ndarray:
    """Round-to-nearest-even float32 -> bfloat16 bits, NaN -> quiet NaN (numpy reference)."""
    u = x.view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    quiet = ((u >> 16) | 0x40).astype(np.uint16)
    return np.where(nan, quiet, rounded)


def edge_values():
    bits = np.array([0, 0x80000000, 0x00000001, 0x007FFFFF, 0x00800000, 0x3F800000, 0x3F808000, 0x3F818000,
                     0x3F807FFF, 0x3F808001, 0x7F7FFFFF, 0x7F7F7FFF, 0x7F800000, 0xFF800000, 0x7FC00000,
                     0x7F800001, 0xFFA00000, 0x4049_0FDB], dtype=np.uint32)
    return bits.view(np.float32)


@pytest.mark.parametrize("n", [1, 17, 40000])
def test_bf16_pack_matches_naive(n, rng):
    x = (rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30, n)).astype(np.float32)
    x[: min(n, len(edge_values()))] = edge_values()[: min(n, len(edge_values()))]
    np.testing.assert_array_equal(K.bf16_pack(x), bf16_naive(x))


def test_bf16_roundtrip_error_and_specials(rng):
    x = rng.standard_normal(10001).astype(np.float32)
    y = K.bf16_unpack(K.bf16_pack(x))
    assert np.max(np.abs(y - x) / np.abs(x)) <= 2.0 ** -8
    e = K.bf16_unpack(K.bf16_pack(edge_values()))
    assert np.isnan(e[14]) and np.isnan(e[15]) and np.isnan(e[16])
    assert e[12] == np.inf and e[13] == -np.inf and e[10] == np.inf  # max float rounds up to inf
    assert e[5] == 1.0 and e[6] == 1.0  # a tie to even stays at 1.0
    assert e[7] == np.float32(1.015625)  # a tie to even rounds up
    # unpack is exact: packing an unpacked value gives the same bits
    bits = rng.integers(0, 1 << 16, 5000).astype(np.uint16)
    vals = K.bf16_unpack(bits)
    finite = np.isfinite(vals)
    np.testing.assert_array_equal(K.bf16_pack(vals)[finite], bits[finite])


def test_bf16_add_and_add_into(rng):
    d = rng.standard_normal(50000).astype(np.float32)
    s = K.bf16_pack(rng.standard_normal(50000).astype(np.float32))
    expect = d + K.bf16_unpack(s)
    np.testing.assert_array_equal(K.bf16_add_into(d.copy(), s), expect)
    for dt in (np.float32, np.float64):
        a, b = rng.standard_normal(33333).astype(dt), rng.standard_normal(33333).astype(dt)
        np.testing.assert_array_equal(K.add_into(a.copy(), b), a + b)


def test_comm_kernels_thread_independent(rng):
    x = rng.standard_normal(100003).astype(np.float32)
    packs = [K.bf16_pack(x, threads=t) for t in (1, 2, 3)]
    for p in packs[1:]:
        np.testing.assert_array_equal(p, packs[0])
    adds = [K.add_into(x.copy(), x, threads=t) for t in (1, 2)]
    np.testing.assert_array_equal(adds[0], adds[1])


def test_comm_kernel_errors():
    x = np.ones(4, np.float32)
    with pytest.raises(TypeError, match="bf16_pack: src must be float32, got dtype float64"):
        K.bf16_pack(np.ones(4))
    with pytest.raises(ValueError, match="1-D C-contiguous"):
        K.bf16_pack(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="dst and src must have one length, got 4 and 3"):
        K.bf16_add_into(x, np.zeros(3, np.uint16))
    with pytest.raises(TypeError, match="add_into: src must be float32 like dst, got dtype float64"):
        K.add_into(x, np.ones(4))
    with pytest.raises(ValueError, match="overlap"):
        K.add_into(x, x)
    with pytest.raises(ValueError, match="read-only"):
        y = np.ones(4, np.float32)
        y.flags.writeable = False
        K.add_into(y, x)
    with pytest.raises(ValueError, match="fewer than"):  # the C layer checks lengths too
        _native.comm_add(np.ones(2, np.float32), np.ones(2, np.float32), 5, 0, 1)


# ---- the ring ----------------------------------------------------------------------------------

def run_ring(size, fn, secret=None, listeners=None, context=b"job"):
    """Run fn(ring) on `size` ranks (threads); returns the per-rank results."""
    secret = secret or os.urandom(32)
    listeners = listeners or [listen() for _ in range(size)]
    addrs = [s.getsockname() for s in listeners]
    out, errors = [None] * size, [None] * size

    def rank(r):
        ring = Ring(r, size, listeners[r], addrs, secret, context, timeout=30)
        try:
            ring.connect(deadline=30)
            out[r] = fn(ring)
        except BaseException as e:  # noqa: BLE001
            errors[r] = e
        finally:
            ring.close()

    ts = [threading.Thread(target=rank, args=(r,)) for r in range(size)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    for e in errors:
        if e is not None:
            raise e
    return out


@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 1000, 300_001])
def test_allreduce_sums(size, n):
    bufs = [np.random.default_rng(r).standard_normal(n).astype(np.float32) for r in range(size)]
    bounds = chunk_bounds(n, size)

    def fn(ring):
        b = bufs[ring.rank].copy()
        ring.reduce_scatter(b, bounds)
        lo, hi = bounds[ring.rank]
        own = b[lo:hi].copy()
        ring.all_gather(b, bounds)
        return own, b

    res = run_ring(size, fn)
    total = np.sum(np.stack(bufs).astype(np.float64), axis=0)
    for r, (own, b) in enumerate(res):
        lo, hi = bounds[r]
        np.testing.assert_allclose(own, total[lo:hi], atol=1e-5)
        np.testing.assert_array_equal(b, res[0][1])  # every rank has the same bits
        np.testing.assert_allclose(b, total, atol=1e-5)


def test_allreduce_float64_and_compressed():
    n, size = 50_001, 2
    bounds = chunk_bounds(n, size)
    b64 = [np.random.default_rng(r).standard_normal(n) for r in range(size)]

    def fn64(ring):
        b = b64[ring.rank].copy()
        ring.reduce_scatter(b, bounds)
        ring.all_gather(b, bounds)
        return b

    np.testing.assert_allclose(run_ring(size, fn64)[1], b64[0] + b64[1], rtol=1e-15)
    b32 = [a.astype(np.float32) for a in b64]

    def fn16(ring):
        b = b32[ring.rank].copy()
        ring.reduce_scatter(b, bounds, compress=True)
        ring.all_gather(b, bounds, compress=True)
        return b

    res = run_ring(size, fn16)
    total = b64[0] + b64[1]
    np.testing.assert_array_equal(res[0], res[1])
    err = np.abs(res[0] - total) / (np.abs(b64[0]) + np.abs(b64[1]))
    assert err.max() < 2 ** -7
    assert err.max() > 0  # it did compress


def test_allgather_bytes_and_small_allreduce():
    def fn(ring):
        items = ring.allgather_bytes(bytes([ring.rank]) * (ring.rank + 1))
        total = ring.allreduce_small([ring.rank, 0.1 * ring.rank, 1.0])
        ring.barrier()
        return items, total

    res = run_ring(3, fn)
    for items, total in res:
        assert items == [b"\x00", b"\x01\x01", b"\x02\x02\x02"]
        np.testing.assert_array_equal(total, res[0][1])
        np.testing.assert_allclose(total, [3.0, 0.3, 3.0])


def test_wrong_secret_is_refused_and_ring_unaffected():
    """An intruder connects to rank 1's port during setup and after: refused, the ring still sums."""
    size, n = 2, 10_000
    secret = os.urandom(32)
    listeners = [listen() for _ in range(size)]
    bounds = chunk_bounds(n, size)
    bufs = [np.full(n, r + 1.0, np.float32) for r in range(size)]
    verdicts = []

    def intrude():
        s = socket.create_connection(listeners[1].getsockname(), timeout=10)
        try:
            _client_handshake(s, os.urandom(32), b"job", 0, 10)
            verdicts.append("accepted")
        except (AuthenticationError, ConnectionError, OSError):
            verdicts.append("refused")
        finally:
            s.close()

    intrude()  # before the ring forms: the accept loop refuses it and keeps waiting

    def fn(ring):
        if ring.rank == 0:
            intrude()  # after: the guard refuses it
            raw = socket.create_connection(listeners[1].getsockname(), timeout=10)
            raw.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"x" * 100)  # junk instead of a handshake
            raw.close()
        ring.barrier()
        b = bufs[ring.rank].copy()
        ring.reduce_scatter(b, bounds)
        ring.all_gather(b, bounds)
        ring.barrier()
        return b, ring.rejected

    res = run_ring(size, fn, secret=secret, listeners=listeners)
    assert verdicts == ["refused", "refused"]
    np.testing.assert_array_equal(res[0][0], np.full(n, 3.0, np.float32))
    np.testing.assert_array_equal(res[1][0], res[0][0])
    assert res[1][1] >= 2  # rank 1 counted the refused connections


def test_valid_secret_but_wrong_context_refused():
    s1 = os.urandom(32)
    listeners = [listen(), listen()]
    addrs = [s.getsockname() for s in listeners]
    errors = []

    def rank(r, ctx):
        ring = Ring(r, 2, listeners[r], addrs, s1, ctx, timeout=5)
        try:
            ring.connect(deadline=3)
        except (AuthenticationError, TimeoutError, ConnectionError) as e:
            errors.append(type(e).__name__)
        finally:
            ring.close()

    ts = [threading.Thread(target=rank, args=(0, b"attempt-1")), threading.Thread(target=rank, args=(1, b"attempt-2"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert len(errors) == 2  # a stale attempt's worker cannot join a new attempt's ring


def test_dead_peer_raises():
    def fn(ring):
        if ring.rank == 1:
            ring.next_sock.close()
            ring.prev_sock.close()
            return None
        with pytest.raises((ConnectionError, OSError)):
            ring.allgather_bytes(b"x" * 10)
        return "raised"

    assert run_ring(2, fn)[0] == "raised"


def test_ring_argument_errors():
    with pytest.raises(ValueError, match="secret must be at least 16 bytes"):
        Ring(0, 2, None, [("h", 1), ("h", 2)], b"short")
    with pytest.raises(ValueError, match=r"rank must be in \[0, 2\)"):
        Ring(2, 2, None, [("h", 1), ("h", 2)], os.urandom(16))
    with pytest.raises(ValueError, match="expected 2 addresses, got 1"):
        Ring(0, 2, None, [("h", 1)], os.urandom(16))
    ring = Ring(0, 1, None, [("h", 1)], os.urandom(16))
    with pytest.raises(TypeError, match="expected float32 or float64"):
        ring.reduce_scatter(np.zeros(4, np.int32), [(0, 4)])
    with pytest.raises(ValueError, match="chunk bounds must cover"):
        ring.all_gather(np.zeros(4, np.float32), [(0, 3)])
