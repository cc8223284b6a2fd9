//! One LLaMA decoder layer with LoRA adapters: forward (optionally keeping what backward
//! needs) and the hand-written backward.
//!
//! Forward (as `llm::forward::layer`): `n1 = rms(x)`, `q, k, v = n1 W^T (+ LoRA)`, RoPE
//! on q and k, causal grouped-query attention over the full `T x T` score square per
//! query head (masked after the product, as the reference eager attention does),
//! `h = x + ctx W_o^T (+ LoRA)`, `n2 = rms(h)`, `y = h + (SiLU(gate) * up) W_d^T (+ LoRA)`.
//!
//! Kept for backward (the tensors of `workload::saved`): the input `x` and its per-token
//! `1/rms`, the rotated q, k, v, the probabilities, `h` and its `1/rms`, gate and up, the
//! input of every adapted linear (`x_norm`, `attn_out`, `h_norm`, `ffn_act`) and every
//! adapter's `dropout(input) A^T` (`lora_mid`). Dropout masks are regenerated.
//!
//! Backward computes activation gradients through the frozen weights (`dX = dY W`, packed
//! `W^T`) and gradients of the adapters only: no frozen weight gradient is ever formed.
//! The bottom layer of the backprop window computes no input gradient (no `dX` through
//! q/k/v, their adapters' A, or the input RMSNorm): nothing consumes it.

use super::base::FrozenLayer;
use super::gemms;
use super::lora::{Dropout, LayerAdapters, Lora};
use super::ops::{Rope, causal_softmax, rms_norm, rms_norm_backward, swiglu, swiglu_backward};
use super::real::{Real, gemm};
use super::record::Recorder;
use crate::llm::checkpoint::LlamaConfig;
use crate::model::Linear;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, s};
use rayon::prelude::*;

/// What every layer of one micro-batch shares.
pub(crate) struct LayerCtx<'a, T: Real> {
    pub cfg: &'a LlamaConfig,
    pub rope: &'a Rope<T>,
    /// LoRA `alpha / r`.
    pub scale: T,
    /// Dropout probability and seed (`None`: no dropout).
    pub dropout: Option<(f64, u64)>,
}

impl<T: Real> LayerCtx<'_, T> {
    fn mask(&self, layer: usize, l: Linear) -> Option<Dropout> {
        self.dropout
            .and_then(|(p, seed)| Dropout::new(seed, layer, l, p))
    }
}

/// Tensors one layer keeps from forward for backward.
pub(crate) struct LayerCache<T> {
    x: Array2<T>,
    rstd_attn: Array1<T>,
    q: Array2<T>,
    k: Array2<T>,
    v: Array2<T>,
    probs: Vec<Array2<T>>,
    h: Array2<T>,
    rstd_ffn: Array1<T>,
    gate: Array2<T>,
    up: Array2<T>,
    x_norm: Option<Array2<T>>,
    attn_out: Option<Array2<T>>,
    h_norm: Option<Array2<T>>,
    ffn_act: Option<Array2<T>>,
    mids: [Option<Array2<T>>; 7],
    /// Recorder ids by name (`lora_mid` ids in `mid_ids`).
    ids: Vec<(&'static str, usize)>,
    mid_ids: [usize; 7],
}

impl<T> LayerCache<T> {
    fn free(&mut self, rec: &mut Recorder, names: &[&str]) {
        for (n, id) in &self.ids {
            if names.contains(n) {
                rec.free(*id);
            }
        }
    }
}

/// `y += scale dropout(x) A^T B^T`, recording `lora_a_{n}` and `lora_b_{n}`; returns the
/// adapter's `dropout(x) A^T` (`[T, r]`).
fn lora_forward<T: Real>(
    ctx: &LayerCtx<T>,
    layer: usize,
    l: Linear,
    lora: &Lora<T>,
    x: ArrayView2<T>,
    mut y: ArrayViewMut2<T>,
    rec: &mut Recorder,
) -> Array2<T> {
    let dropped = ctx.mask(layer, l).map(|d| d.apply(x));
    let xin = dropped.as_ref().map_or(x, |d| d.view());
    let mid = xin.dot(&lora.a.t());
    gemm(ctx.scale, &mid.view(), &lora.b.t(), T::one(), &mut y);
    let (t, r) = (x.nrows(), lora.a.nrows());
    rec.gemm(gemms::weight16(
        format!("lora_a_{}", l.name()),
        t,
        x.ncols(),
        r,
    ));
    rec.gemm(gemms::weight16(
        format!("lora_b_{}", l.name()),
        t,
        r,
        lora.b.nrows(),
    ));
    mid
}

/// Adapter gradients of linear `l` from `dy` (`[T, out]`): `dB += s dy^T mid`,
/// `dA += (s dy B)^T dropout(x)`, and with `dx` the input gradient
/// `dx += dropout^T((s dy B) A)`. Records the products as `decoder_bwd` names them.
#[allow(clippy::too_many_arguments)]
fn lora_backward<T: Real>(
    ctx: &LayerCtx<T>,
    layer: usize,
    l: Linear,
    lora: &Lora<T>,
    x: ArrayView2<T>,
    mid: &Array2<T>,
    dy: ArrayView2<T>,
    dx: Option<ArrayViewMut2<T>>,
    grad: &mut Lora<T>,
    a_bits: u32,
    rec: &mut Recorder,
) {
    let n = l.name();
    let (t, r, inp, out) = (x.nrows(), lora.a.nrows(), x.ncols(), lora.b.nrows());
    let mut dmid = Array2::zeros((t, r));
    gemm(
        ctx.scale,
        &dy,
        &lora.b.view(),
        T::zero(),
        &mut dmid.view_mut(),
    );
    rec.gemm(gemms::weight16(format!("lora_dgrad_b_{n}"), t, out, r));
    gemm(
        ctx.scale,
        &dy.t(),
        &mid.view(),
        T::one(),
        &mut grad.b.view_mut(),
    );
    rec.gemm(gemms::activation(
        format!("lora_wgrad_b_{n}"),
        out,
        t,
        r,
        1,
        16,
    ));
    // The mask once for both uses (dA and dX).
    let mask = ctx.mask(layer, l).map(|d| d.factors::<T>(x.dim()));
    let dropped = mask.as_ref().map(|m| m * &x);
    let xin = dropped.as_ref().map_or(x, |d| d.view());
    gemm(T::one(), &dmid.t(), &xin, T::one(), &mut grad.a.view_mut());
    rec.gemm(gemms::activation(
        format!("lora_wgrad_a_{n}"),
        r,
        t,
        inp,
        1,
        a_bits.min(16),
    ));
    if let Some(mut dx) = dx {
        match mask {
            None => gemm(T::one(), &dmid.view(), &lora.a.view(), T::one(), &mut dx),
            Some(m) => {
                let g = dmid.dot(&lora.a);
                ndarray::Zip::from(&mut dx)
                    .and(&g)
                    .and(&m)
                    .for_each(|d, &g, &m| *d += g * m);
            }
        }
        rec.gemm(gemms::weight16(format!("lora_dgrad_a_{n}"), t, r, inp));
    }
}

/// `x W^T` of a frozen linear plus its adapter (if any); returns the output and the
/// adapter's intermediate.
fn linear_forward<T: Real>(
    ctx: &LayerCtx<T>,
    layer: usize,
    w: &FrozenLayer<T>,
    ad: &LayerAdapters<T>,
    l: Linear,
    x: ArrayView2<T>,
    rec: &mut Recorder,
) -> (Array2<T>, Option<Array2<T>>) {
    let fl = w.linear(l);
    let mut y = T::matmul(x, &fl.w);
    rec.gemm(gemms::frozen(
        l.name(),
        x.nrows(),
        fl.inp,
        fl.out,
        fl,
        w.policy.a_bits,
    ));
    let mid = ad
        .get(l)
        .map(|lora| lora_forward(ctx, layer, l, lora, x, y.view_mut(), rec));
    (y, mid)
}

/// Causal grouped-query attention: returns the context `[T, q_dim]` and the
/// probabilities of every query head (`[T, T]` each). Heads run in parallel.
fn attention<T: Real>(
    cfg: &LlamaConfig,
    q: &Array2<T>,
    k: &Array2<T>,
    v: &Array2<T>,
) -> (Array2<T>, Vec<Array2<T>>) {
    let (hd, nh) = (cfg.head_dim, cfg.num_attention_heads);
    let group = nh / cfg.num_key_value_heads;
    let scale = T::from_f64(1.0 / (hd as f64).sqrt());
    let t = q.nrows();
    let per_head: Vec<(Array2<T>, Array2<T>)> = (0..nh)
        .into_par_iter()
        .map(|h| {
            let g = h / group;
            let qh = q.slice(s![.., h * hd..(h + 1) * hd]);
            let kg = k.slice(s![.., g * hd..(g + 1) * hd]);
            let vg = v.slice(s![.., g * hd..(g + 1) * hd]);
            // As the evaluation forward: keys as the weight of `q k^T`, values
            // transposed as the weight of `p v` (packed per head: T x hd, negligible).
            let mut p = T::matmul(qh, &T::pack(kg));
            causal_softmax(p.view_mut(), scale);
            let c = T::matmul(p.view(), &T::pack(vg.t()));
            (p, c)
        })
        .collect();
    let mut ctx = Array2::zeros((t, nh * hd));
    let mut probs = Vec::with_capacity(nh);
    for (h, (p, c)) in per_head.into_iter().enumerate() {
        ctx.slice_mut(s![.., h * hd..(h + 1) * hd]).assign(&c);
        probs.push(p);
    }
    (ctx, probs)
}

/// Runs decoder layer `layer` on `x` (`[T, hidden]`); with `keep`, also returns what its
/// backward needs (and records those tensors as saved).
pub(crate) fn forward<T: Real>(
    ctx: &LayerCtx<T>,
    layer: usize,
    w: &FrozenLayer<T>,
    ad: &LayerAdapters<T>,
    x: Array2<T>,
    keep: bool,
    rec: &mut Recorder,
) -> (Array2<T>, Option<LayerCache<T>>) {
    let cfg = ctx.cfg;
    let (hd, nh, t) = (cfg.head_dim, cfg.num_attention_heads, x.nrows());
    let eps = cfg.rms_norm_eps;
    let kv_bits = w.policy.kv_bits;
    let (n1, rstd_attn) = rms_norm(x.view(), w.input_norm.view(), eps);
    let (mut q, mid_q) = linear_forward(ctx, layer, w, ad, Linear::Q, n1.view(), rec);
    let (mut k, mid_k) = linear_forward(ctx, layer, w, ad, Linear::K, n1.view(), rec);
    let (v, mid_v) = linear_forward(ctx, layer, w, ad, Linear::V, n1.view(), rec);
    ctx.rope.apply(q.view_mut(), hd);
    ctx.rope.apply(k.view_mut(), hd);
    let (attn_out, probs) = attention(cfg, &q, &k, &v);
    rec.gemm(gemms::activation("attn_score", t, hd, t, nh, kv_bits));
    rec.gemm(gemms::activation("attn_context", t, t, hd, nh, kv_bits));
    // h = x + attn_out W_o^T (+ LoRA), accumulated in place.
    let x_keep = keep.then(|| x.clone());
    let mut h = x;
    let wo = w.linear(Linear::O);
    T::matmul_add(attn_out.view(), &wo.w, h.view_mut());
    rec.gemm(gemms::frozen("o", t, wo.inp, wo.out, wo, w.policy.a_bits));
    let mid_o = ad.get(Linear::O).map(|lora| {
        lora_forward(
            ctx,
            layer,
            Linear::O,
            lora,
            attn_out.view(),
            h.view_mut(),
            rec,
        )
    });
    let (n2, rstd_ffn) = rms_norm(h.view(), w.post_norm.view(), eps);
    let (gate, mid_gate) = linear_forward(ctx, layer, w, ad, Linear::Gate, n2.view(), rec);
    let (up, mid_up) = linear_forward(ctx, layer, w, ad, Linear::Up, n2.view(), rec);
    let act = swiglu(gate.view(), up.view());
    let h_keep = keep.then(|| h.clone());
    let mut y = h;
    let wd = w.linear(Linear::Down);
    T::matmul_add(act.view(), &wd.w, y.view_mut());
    rec.gemm(gemms::frozen(
        "down",
        t,
        wd.inp,
        wd.out,
        wd,
        w.policy.a_bits,
    ));
    let mid_down = ad.get(Linear::Down).map(|lora| {
        lora_forward(
            ctx,
            layer,
            Linear::Down,
            lora,
            act.view(),
            y.view_mut(),
            rec,
        )
    });
    let (Some(x), Some(h)) = (x_keep, h_keep) else {
        return (y, None);
    };
    let has = |ls: &[Linear]| ls.iter().any(|&l| ad.get(l).is_some());
    let mut c = LayerCache {
        x,
        rstd_attn,
        q,
        k,
        v,
        probs,
        h,
        rstd_ffn,
        gate,
        up,
        x_norm: has(&[Linear::Q, Linear::K, Linear::V]).then_some(n1),
        attn_out: has(&[Linear::O]).then_some(attn_out),
        h_norm: has(&[Linear::Gate, Linear::Up]).then_some(n2),
        ffn_act: has(&[Linear::Down]).then_some(act),
        mids: [mid_q, mid_k, mid_v, mid_o, mid_gate, mid_up, mid_down],
        ids: vec![],
        mid_ids: [usize::MAX; 7],
    };
    record_saved(&mut c, rec);
    (y, Some(c))
}

fn record_saved<T>(c: &mut LayerCache<T>, rec: &mut Recorder) {
    let b = std::mem::size_of::<T>() as u64;
    let mut save = |c: &mut LayerCache<T>, name: &'static str, elements: usize| {
        let id = rec.save(name, elements as u64, elements as u64 * b);
        c.ids.push((name, id));
    };
    let sizes = [
        ("x", c.x.len()),
        ("rstd_attn", c.rstd_attn.len()),
        ("q", c.q.len()),
        ("k", c.k.len()),
        ("v", c.v.len()),
        ("probs", c.probs.iter().map(Array2::len).sum()),
        ("h", c.h.len()),
        ("rstd_ffn", c.rstd_ffn.len()),
        ("gate", c.gate.len()),
        ("up", c.up.len()),
    ];
    for (n, e) in sizes {
        save(c, n, e);
    }
    let optional = [
        ("x_norm", c.x_norm.as_ref().map(Array2::len)),
        ("attn_out", c.attn_out.as_ref().map(Array2::len)),
        ("h_norm", c.h_norm.as_ref().map(Array2::len)),
        ("ffn_act", c.ffn_act.as_ref().map(Array2::len)),
    ];
    for (n, e) in optional {
        if let Some(e) = e {
            save(c, n, e);
        }
    }
    for i in 0..7 {
        if let Some(e) = c.mids[i].as_ref().map(Array2::len) {
            c.mid_ids[i] = rec.save("lora_mid", e as u64, e as u64 * b);
        }
    }
}

/// Attention backward from `d ctx` (`[T, q_dim]`): `(dq, dk, dv)` with respect to the
/// rotated queries and keys and the values. Per query head (in parallel):
/// `dP = dO V^T`, `dV += P^T dO`, `dS = P (dP - rowsum(P dP)) / sqrt(hd)`, `dQ = dS K`,
/// `dK += dS^T Q`; the heads of a K/V group are summed in head order (deterministic).
fn attention_backward<T: Real>(
    cfg: &LlamaConfig,
    c: &LayerCache<T>,
    dctx: &Array2<T>,
) -> (Array2<T>, Array2<T>, Array2<T>) {
    let (hd, nh, nkv) = (
        cfg.head_dim,
        cfg.num_attention_heads,
        cfg.num_key_value_heads,
    );
    let group = nh / nkv;
    let scale = T::from_f64(1.0 / (hd as f64).sqrt());
    let t = dctx.nrows();
    let per_head: Vec<(Array2<T>, Array2<T>, Array2<T>)> = (0..nh)
        .into_par_iter()
        .map(|h| {
            let g = h / group;
            let cols = s![.., h * hd..(h + 1) * hd];
            let gcols = s![.., g * hd..(g + 1) * hd];
            let (qh, kg, vg) = (c.q.slice(cols), c.k.slice(gcols), c.v.slice(gcols));
            let doh = dctx.slice(cols);
            let p = &c.probs[h];
            let mut ds = T::matmul(doh, &T::pack(vg));
            let dv = T::matmul(p.t(), &T::pack(doh.t()));
            for (i, (mut dr, pr)) in ds.outer_iter_mut().zip(p.outer_iter()).enumerate() {
                let visible = i + 1;
                let mut dot = T::zero();
                for j in 0..visible {
                    dot += pr[j] * dr[j];
                }
                for j in 0..t {
                    dr[j] = if j < visible {
                        pr[j] * (dr[j] - dot) * scale
                    } else {
                        T::zero()
                    };
                }
            }
            let dq = T::matmul(ds.view(), &T::pack(kg.t()));
            let dk = T::matmul(ds.t(), &T::pack(qh.t()));
            (dq, dk, dv)
        })
        .collect();
    let mut dq = Array2::zeros((t, nh * hd));
    let mut dk = Array2::zeros((t, nkv * hd));
    let mut dv = Array2::zeros((t, nkv * hd));
    for (h, (q, k, v)) in per_head.into_iter().enumerate() {
        let g = h / group;
        dq.slice_mut(s![.., h * hd..(h + 1) * hd]).assign(&q);
        let gcols = s![.., g * hd..(g + 1) * hd];
        let mut dkg = dk.slice_mut(gcols);
        dkg += &k;
        let mut dvg = dv.slice_mut(gcols);
        dvg += &v;
    }
    (dq, dk, dv)
}

/// Backward of decoder layer `layer` from `dy` (`[T, hidden]`, the gradient of its
/// output): adds the adapter gradients into `grads`, returns `dL/dx` unless `need_dx` is
/// false (the bottom of the backprop window). Frees the cache's records as it consumes
/// them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Real>(
    ctx: &LayerCtx<T>,
    layer: usize,
    w: &FrozenLayer<T>,
    ad: &LayerAdapters<T>,
    mut c: LayerCache<T>,
    dy: Array2<T>,
    need_dx: bool,
    grads: &mut LayerAdapters<T>,
    rec: &mut Recorder,
) -> Option<Array2<T>> {
    let cfg = ctx.cfg;
    let (hd, nh, t) = (cfg.head_dim, cfg.num_attention_heads, dy.nrows());
    let (a_bits, kv_bits) = (w.policy.a_bits, w.policy.kv_bits);
    let mut adapter_grad = |l: Linear,
                            x: Option<&Array2<T>>,
                            dy: ArrayView2<T>,
                            dx: Option<ArrayViewMut2<T>>,
                            c: &LayerCache<T>,
                            rec: &mut Recorder| {
        if let (Some(lora), Some(x), Some(mid)) = (ad.get(l), x, c.mids[l as usize].as_ref()) {
            let g = grads.lora[l as usize]
                .as_mut()
                .expect("gradient structure checked against the adapters");
            lora_backward(ctx, layer, l, lora, x.view(), mid, dy, dx, g, a_bits, rec);
            rec.free(c.mid_ids[l as usize]);
        }
    };
    let dgrad =
        |l: Linear, dy: ArrayView2<T>, out: Option<ArrayViewMut2<T>>, rec: &mut Recorder| {
            let fl = w.linear(l);
            rec.gemm(gemms::frozen(
                format!("dgrad_{}", l.name()),
                t,
                fl.out,
                fl.inp,
                fl,
                16,
            ));
            match out {
                Some(o) => {
                    T::matmul_add(dy, &fl.wt, o);
                    None
                }
                None => Some(T::matmul(dy, &fl.wt)),
            }
        };
    // MLP: y = h + down(SiLU(gate) * up).
    let mut dact = dgrad(Linear::Down, dy.view(), None, rec).expect("fresh output");
    adapter_grad(
        Linear::Down,
        c.ffn_act.as_ref(),
        dy.view(),
        Some(dact.view_mut()),
        &c,
        rec,
    );
    let (dgate, dup) = swiglu_backward(c.gate.view(), c.up.view(), dact.view());
    drop(dact);
    c.free(rec, &["gate", "up", "ffn_act"]);
    let mut dn2 = dgrad(Linear::Up, dup.view(), None, rec).expect("fresh output");
    adapter_grad(
        Linear::Up,
        c.h_norm.as_ref(),
        dup.view(),
        Some(dn2.view_mut()),
        &c,
        rec,
    );
    dgrad(Linear::Gate, dgate.view(), Some(dn2.view_mut()), rec);
    adapter_grad(
        Linear::Gate,
        c.h_norm.as_ref(),
        dgate.view(),
        Some(dn2.view_mut()),
        &c,
        rec,
    );
    drop((dgate, dup));
    let mut dh = dy;
    rms_norm_backward(
        c.h.view(),
        c.rstd_ffn.view(),
        w.post_norm.view(),
        dn2.view(),
        dh.view_mut(),
        None,
    );
    c.free(rec, &["h", "rstd_ffn", "h_norm"]);
    // Attention: h = x + o(attn(q, k, v)).
    let mut dctx = dgrad(Linear::O, dh.view(), None, rec).expect("fresh output");
    adapter_grad(
        Linear::O,
        c.attn_out.as_ref(),
        dh.view(),
        Some(dctx.view_mut()),
        &c,
        rec,
    );
    c.free(rec, &["attn_out"]);
    let (mut dq, mut dk, dv) = attention_backward(cfg, &c, &dctx);
    rec.gemm(gemms::activation("attn_dprobs", t, hd, t, nh, kv_bits));
    rec.gemm(gemms::activation("attn_dv", t, t, hd, nh, 16));
    rec.gemm(gemms::activation("attn_dq", t, t, hd, nh, kv_bits));
    rec.gemm(gemms::activation("attn_dk", t, t, hd, nh, 16));
    c.free(rec, &["probs", "q", "k", "v"]);
    ctx.rope.apply_inverse(dq.view_mut(), hd);
    ctx.rope.apply_inverse(dk.view_mut(), hd);
    let mut dn1 = need_dx.then(|| Array2::zeros((t, cfg.hidden_size)));
    for (l, d) in [(Linear::V, &dv), (Linear::K, &dk), (Linear::Q, &dq)] {
        if let Some(dn1) = dn1.as_mut() {
            dgrad(l, d.view(), Some(dn1.view_mut()), rec);
        }
        let dx = dn1.as_mut().map(|a| a.view_mut());
        adapter_grad(l, c.x_norm.as_ref(), d.view(), dx, &c, rec);
    }
    c.free(rec, &["x_norm"]);
    let dx = dn1.map(|dn1| {
        rms_norm_backward(
            c.x.view(),
            c.rstd_attn.view(),
            w.input_norm.view(),
            dn1.view(),
            dh.view_mut(),
            None,
        );
        dh
    });
    c.free(rec, &["x", "rstd_attn"]);
    dx
}
