"""Compiled (numba) engine for tabturn.learners.tabular: the same arithmetic as the numpy engine, seed by seed.

Optional: needs the ``fast`` extra (numba). It computes each uniform inside the loop from the seed's key and
the draw's counter hash (tabturn.learners.counter_rng: the same integer operations as the numpy version) and
performs the same IEEE operations (no fast-math), so its Q-tables equal the numpy engine's bit for bit
(tested); nothing is drawn ahead, so no random numbers stream through memory. Step sizes come from the same
table (tabturn.core.detmath.step_sizes) and softmax's exp is detmath.exp_scalar compiled, so neither engine's
results depend on the CPU.
"""

from __future__ import annotations

import numpy as np

from tabturn.core import detmath
from tabturn.learners import counter_rng

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without the extra
    numba = None  # type: ignore[assignment]

LANES = 2  # seeds advanced in lock-step per thread by run_chunk_greedy
ALGORITHM_CODES = {"q": 0, "sarsa": 1, "expected-sarsa": 2, "double-q": 3}
TIE_CODES = {"first": 0, "last": 1, "random": 2}


def available() -> bool:
    """True when numba is importable."""
    return numba is not None


def set_threads(n: int) -> None:
    """Use n threads for the compiled loops (results do not depend on it: seeds are independent)."""
    if numba is not None:
        numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]


if numba is not None:
    _jit = numba.njit(cache=True, fastmath=False, nogil=True, parallel=True)
    _inline = numba.njit(cache=True, fastmath=False, inline="always")
    _exp = _inline(detmath.exp_scalar)  # the same operations as the numpy engine's detmath.exp_array
    _GOLDEN, _MIX1, _MIX2 = counter_rng.GOLDEN, counter_rng.MIX1, counter_rng.MIX2
    _S30, _S27, _S31, _S11 = counter_rng.S30, counter_rng.S27, counter_rng.S31, counter_rng.S11

    @_inline
    def _uniform(key, counter_hash):
        z = (key ^ counter_hash) + _GOLDEN  # counter_rng.unit(counter_rng.splitmix(key ^ counter_hash))
        z = (z ^ (z >> _S30)) * _MIX1
        z = (z ^ (z >> _S27)) * _MIX2
        z = z ^ (z >> _S31)
        return np.float64(z >> _S11) * counter_rng.UNIT

    @_inline
    def _greedy(qs, u_tie, tie):
        A = qs.shape[0]
        best = qs[0]
        for i in range(1, A):
            if qs[i] < best:
                best = qs[i]
        if tie == 0:
            for i in range(A):
                if qs[i] == best:
                    return i
        if tie == 1:
            for i in range(A - 1, -1, -1):
                if qs[i] == best:
                    return i
        count = 0
        for i in range(A):
            if qs[i] == best:
                count += 1
        pick = int(u_tie * count)
        if pick > count - 1:
            pick = count - 1
        seen = 0
        for i in range(A):
            if qs[i] == best:
                if seen == pick:
                    return i
                seen += 1
        return A - 1

    @_inline
    def _softmax(qs, temperature, out):
        A = qs.shape[0]
        low = qs[0]
        for i in range(1, A):
            if qs[i] < low:
                low = qs[i]
        total = 0.0
        for i in range(A):
            out[i] = _exp(-(qs[i] - low) / temperature)
            total += out[i]
        for i in range(A):
            out[i] = out[i] / total

    @_inline
    def _explore(key, u, e, r, eps, A, c_explore, c_action):
        """The uniformly random action when step (e, r) explores (epsilon-greedy), else -1."""
        if _uniform(key, u[e, r, c_explore]) < eps:
            return min(int(_uniform(key, u[e, r, c_action]) * A), A - 1)
        return -1

    @_inline
    def _inverse_cdf(x, cum):
        """The index of the first cumulative probability at or above x (the last one when none is)."""
        k = 0
        for j in range(cum.shape[0]):
            if x > cum[j]:
                k += 1
        return min(k, cum.shape[0] - 1)

    @_inline
    def _start(key, u, e, c_next, start_states, start_cum):
        """Episode e's start state (drawn with row 0's "next" uniform when there are several)."""
        if start_cum.shape[0] > 1:
            return start_states[_inverse_cdf(_uniform(key, u[e, 0, c_next]), start_cum)]
        return start_states[0]

    @_inline
    def _successor(key, u, e, r, c_next, s, a, nexts, cum, deterministic):
        """The state after action a in state s at step (e, r)."""
        if deterministic:
            return nexts[s, a, 0]
        return nexts[s, a, _inverse_cdf(_uniform(key, u[e, r, c_next]), cum[s, a])]

    @_inline
    def _behaviour(qs, key, u, e, r, eps, tie, softmax, temperature, scratch, c_explore, c_action, c_tie):
        # u[e, r]: the step's counter hashes (indexed, not sliced: a slice would touch the shared array's
        # reference count from every thread); a uniform is computed only when used (its value does not
        # depend on whether others were)
        A = qs.shape[0]
        if softmax:
            _softmax(qs, temperature, scratch)
            u_action = _uniform(key, u[e, r, c_action])
            cdf = 0.0
            k = 0
            for i in range(A):
                cdf += scratch[i]
                if u_action > cdf:
                    k += 1
            return min(k, A - 1)
        explored = _explore(key, u, e, r, eps, A, c_explore, c_action)
        if explored >= 0:
            return explored
        return _greedy(qs, _uniform(key, u[e, r, c_tie]) if c_tie >= 0 else 0.0, tie)

    @_inline
    def _argmin(table, r, tie):
        """One pass: the first (tie 0) or last (tie 1) index of the least entry of table[r]."""
        best = table[r, 0]
        k = 0
        for i in range(1, table.shape[1]):
            v = table[r, i]
            if v < best or (tie == 1 and v == best):
                best = v
                k = i
        return k

    @_inline
    def _alpha(visits, constant, step_size, alphas):
        if constant:
            return step_size
        return alphas[max(visits, 1)]

    @_jit
    def run_chunk(
        q,
        q2,
        visits,
        keys,
        hashes,
        eps_arr,
        nexts,
        cum,
        deterministic,
        cost,
        terminal,
        final,
        start_states,
        start_cum,
        obs,
        algorithm,
        tie,
        softmax,
        temperature,
        constant,
        step_size,
        alphas,
        g,
        trunc_terminal,
        stride,
        c_explore,
        c_action,
        c_next,
        c_tie,
        c_coin,
    ):
        B = keys.shape[0]
        count, H1, C = hashes.shape
        H = H1 - 1
        A = q.shape[2]
        for b in numba.prange(B):  # seeds are independent: threads cannot change any seed's result
            scratch = np.empty(A)
            row = np.empty(A)
            row2 = np.empty(A)
            both = np.empty(A)  # double Q's summed row (no per-step allocation)
            key = keys[b]
            qb, q2b, vb = q[b], q2[b], visits[b]
            for e in range(count):
                eps = eps_arr[e]
                s = _start(key, hashes, e, c_next, start_states, start_cum)
                o = obs[s]
                for i in range(A):
                    row[i] = qb[o, i] if algorithm != 3 else qb[o, i] + q2b[o, i]
                a = _behaviour(
                    row, key, hashes, e, 0, eps, tie, softmax, temperature, scratch, c_explore, c_action, c_tie
                )
                alive = not terminal[s]
                for t in range(H):
                    s_next = _successor(key, hashes, e, t + 1, c_next, s, a, nexts, cum, deterministic)
                    c = cost[s, a]
                    last = t == H - 1 and trunc_terminal
                    done = terminal[s_next] or last
                    end = final[s_next] if last else 0.0  # the end-of-horizon (terminal-timing) loss
                    ri = obs[s] + t * stride  # table row of (step t, state s); stride 0 for a stationary table
                    rn = obs[s_next] + min(t + 1, H - 1) * stride
                    for i in range(A):
                        row[i] = qb[rn, i]
                    if algorithm != 3:
                        a_next = 0
                        if algorithm == 0:
                            boot = row[0]
                            for i in range(1, A):
                                boot = min(boot, row[i])
                        elif algorithm == 1:  # SARSA needs A' for its target: chosen before the update
                            a_next = _behaviour(
                                row,
                                key,
                                hashes,
                                e,
                                t + 1,
                                eps,
                                tie,
                                softmax,
                                temperature,
                                scratch,
                                c_explore,
                                c_action,
                                c_tie,
                            )
                            boot = row[a_next]
                        else:
                            if softmax:
                                _softmax(row, temperature, scratch)
                            else:
                                gr = _greedy(row, _uniform(key, hashes[e, t + 1, c_tie]) if c_tie >= 0 else 0.0, tie)
                                for i in range(A):
                                    scratch[i] = eps / A
                                scratch[gr] += 1 - eps
                            boot = 0.0
                            for i in range(A):
                                boot += scratch[i] * row[i]
                        target = c + g * (end if done else boot)
                        if alive:
                            vb[ri, a] += 1
                            alpha = _alpha(vb[ri, a], constant, step_size, alphas)
                            cur = qb[ri, a]
                            qb[ri, a] = cur + alpha * (target - cur)
                            if rn == ri:  # the successor's row is the row just updated
                                row[a] = qb[ri, a]
                        if algorithm != 1:  # textbook order: A' from the updated table
                            a_next = _behaviour(
                                row,
                                key,
                                hashes,
                                e,
                                t + 1,
                                eps,
                                tie,
                                softmax,
                                temperature,
                                scratch,
                                c_explore,
                                c_action,
                                c_tie,
                            )
                    else:
                        for i in range(A):
                            row2[i] = q2b[rn, i]
                        coin = _uniform(key, hashes[e, t + 1, c_coin]) < 0.5
                        u_tie = _uniform(key, hashes[e, t + 1, c_tie]) if c_tie >= 0 else 0.0
                        boot = row2[_greedy(row, u_tie, tie)] if coin else row[_greedy(row2, u_tie, tie)]
                        target = c + g * (end if done else boot)
                        if alive:
                            alpha = _alpha(vb[ri, a] + 1, constant, step_size, alphas)
                            if coin:
                                cur = qb[ri, a]
                                qb[ri, a] = cur + alpha * (target - cur)
                            else:
                                cur = q2b[ri, a]
                                q2b[ri, a] = cur + alpha * (target - cur)
                            vb[ri, a] += 1
                        for i in range(A):  # textbook order: A' from the updated tables
                            both[i] = qb[rn, i] + q2b[rn, i]
                        a_next = _behaviour(
                            both,
                            key,
                            hashes,
                            e,
                            t + 1,
                            eps,
                            tie,
                            softmax,
                            temperature,
                            scratch,
                            c_explore,
                            c_action,
                            c_tie,
                        )
                    alive = alive and not terminal[s_next]
                    s = s_next
                    a = a_next

    @_inline
    def _greedy_step(
        qb,
        vb,
        key,
        hashes,
        e,
        t,
        H,
        eps,
        s,
        a,
        alive,
        nexts,
        cum,
        deterministic,
        cost,
        terminal,
        final,
        obs,
        direct,
        algorithm,
        tie,
        constant,
        step_size,
        alphas,
        g,
        trunc_terminal,
        stride,
        c_explore,
        c_action,
        c_next,
    ):
        """One step of one seed in run_chunk_greedy: the state, action and alive flag after it."""
        A = qb.shape[1]
        s_next = _successor(key, hashes, e, t + 1, c_next, s, a, nexts, cum, deterministic)
        c = cost[s, a]
        last = t == H - 1 and trunc_terminal
        done = terminal[s_next] or last
        end = final[s_next] if last else 0.0
        if direct:  # one table row per state: no row lookup on the step's dependency chain
            ri, rn = s, s_next
        else:
            ri = obs[s] + t * stride
            rn = obs[s_next] + min(t + 1, H - 1) * stride
        gi = _argmin(qb, rn, tie)  # greedy at the successor before the update
        explored = _explore(key, hashes, e, t + 1, eps, A, c_explore, c_action)
        a_next = explored if explored >= 0 else gi
        if algorithm == 0:
            boot = qb[rn, gi]
        elif algorithm == 1:
            boot = qb[rn, a_next]
        else:  # the same operations as run_chunk's behaviour probabilities
            boot = 0.0
            for i in range(A):
                p = eps / A
                if i == gi:
                    p += 1 - eps
                boot += p * qb[rn, i]
        target = c + g * (end if done else boot)
        if alive:
            vb[ri, a] += 1
            alpha = _alpha(vb[ri, a], constant, step_size, alphas)
            cur = qb[ri, a]
            qb[ri, a] = cur + alpha * (target - cur)
            if algorithm != 1 and rn == ri and explored < 0:
                a_next = _argmin(qb, rn, tie)  # textbook order: A' from the updated row (SARSA: before)
        return s_next, a_next, alive and not terminal[s_next]

    @_inline
    def _first_action(qb, key, hashes, e, eps, s, obs, tie, c_explore, c_action):
        explored = _explore(key, hashes, e, 0, eps, qb.shape[1], c_explore, c_action)
        return explored if explored >= 0 else _argmin(qb, obs[s], tie)

    @_jit
    def run_chunk_greedy(
        q,
        visits,
        keys,
        hashes,
        eps_arr,
        nexts,
        cum,
        deterministic,
        cost,
        terminal,
        final,
        start_states,
        start_cum,
        obs,
        direct,
        algorithm,
        tie,
        constant,
        step_size,
        alphas,
        g,
        trunc_terminal,
        stride,
        c_explore,
        c_action,
        c_next,
    ):
        """run_chunk for the common case, in a smaller loop: Q-learning, SARSA or expected SARSA, epsilon-greedy,
        ties to the first (tie 0) or last (tie 1) index; greedy action and bootstrap from one pass over the row.

        Two seeds advance in lock-step in each thread (B must be a multiple of LANES): their steps are
        independent, so the CPU overlaps one seed's load-argmin-load chain with the others'. ``direct``: table
        row = state (obs is the identity and stride 0). Each seed's operations are those of a one-seed loop."""
        count, H1, _ = hashes.shape
        H = H1 - 1
        for group in numba.prange(keys.shape[0] // LANES):
            b = LANES * group
            k0, k1 = keys[b], keys[b + 1]
            q0, q1 = q[b], q[b + 1]
            v0, v1 = visits[b], visits[b + 1]
            for e in range(count):
                eps = eps_arr[e]
                s0 = _start(k0, hashes, e, c_next, start_states, start_cum)
                s1 = _start(k1, hashes, e, c_next, start_states, start_cum)
                a0 = _first_action(q0, k0, hashes, e, eps, s0, obs, tie, c_explore, c_action)
                a1 = _first_action(q1, k1, hashes, e, eps, s1, obs, tie, c_explore, c_action)
                l0, l1 = not terminal[s0], not terminal[s1]
                for t in range(H):
                    s0, a0, l0 = _greedy_step(
                        q0, v0, k0, hashes, e, t, H, eps, s0, a0, l0, nexts, cum, deterministic, cost, terminal,
                        final, obs, direct, algorithm, tie, constant, step_size, alphas, g, trunc_terminal, stride,
                        c_explore, c_action, c_next,
                    )  # fmt: skip
                    s1, a1, l1 = _greedy_step(
                        q1, v1, k1, hashes, e, t, H, eps, s1, a1, l1, nexts, cum, deterministic, cost, terminal,
                        final, obs, direct, algorithm, tie, constant, step_size, alphas, g, trunc_terminal, stride,
                        c_explore, c_action, c_next,
                    )  # fmt: skip
