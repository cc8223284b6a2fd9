//! Speed of the LUC tensor-engine kernels (release build).
//!
//! Targets (2-core AVX-512 EPYC): a 1024 x 1024 f32 matmul at >= 100 GFLOP/s, and
//! SparseGPT on one 4096 x 4096 linear with 8,192 calibration tokens (Hessian included)
//! in <= 10 s. Before the criterion groups run, one timed pass prints GFLOP/s and the
//! phase breakdown of SparseGPT so the figures can be read without criterion's report.
//! matrixmultiply uses `MATMUL_NUM_THREADS` threads (default: the physical core count).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use edgesim::llm::linalg::{cholesky, gram, upper_cholesky_of_inverse};
use edgesim::luc::prune::{
    Hessian, PruneMethod, SparseGptOptions, SparsityPattern, prune, prune_with_hessian,
};
use edgesim::luc::quant::{Granularity, fake_quant};
use ndarray::Array2;

/// Deterministic uniform values in [-1, 1) from a 64-bit LCG (no RNG crate needed).
fn uniform(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array2::from_shape_simple_fn((rows, cols), || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32) / ((1u64 << 23) as f32) - 1.0
    })
}

/// Calibration tokens with correlated features: `Z A` for a random mixing `A`.
fn calibration(tokens: usize, features: usize) -> Array2<f32> {
    let z = uniform(tokens, features, 1);
    let mut a = uniform(features, features, 2) * (0.5 / (features as f32).sqrt());
    a.diag_mut().mapv_inplace(|v| v + 1.0);
    z.dot(&a)
}

fn gflops(flops: f64, d: Duration) -> f64 {
    flops / d.as_secs_f64() / 1e9
}

/// CPU time of the whole process (all threads), from `/proc/self/stat` fields 14-15
/// (utime, stime) in clock ticks of `USER_HZ` = 100 Hz (fixed by the Linux ABI). On a
/// shared machine wall time depends on the other load; CPU time shows what the kernels
/// cost, and `cpu / 2` is the wall time with both cores to themselves. `None` off Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Runs `f` once, returning its result, wall time and CPU time (if known).
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<f64>) {
    let (c0, t0) = (cpu_seconds(), Instant::now());
    let r = f();
    let wall = t0.elapsed();
    let cpu = cpu_seconds().zip(c0).map(|(c1, c0)| c1 - c0);
    (r, wall, cpu)
}

fn describe_cpu(flops: f64, cpu: Option<f64>) -> String {
    match cpu {
        Some(c) if c > 0.0 => format!("cpu {c:.2} s = {:.0} GFLOP per cpu-second", flops / c / 1e9),
        _ => "cpu time unavailable".to_string(),
    }
}

fn matmul(c: &mut Criterion) {
    let n = 1024;
    let a = uniform(n, n, 3);
    let b = uniform(n, n, 4);
    let flops = 2.0 * (n as f64).powi(3);
    black_box(a.dot(&b));
    // The machine is shared: report the median and the best of 30 runs.
    let mut times: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            black_box(a.dot(&b));
            t.elapsed()
        })
        .collect();
    times.sort();
    let (_, wall, cpu) = timed(|| {
        for _ in 0..30 {
            black_box(a.dot(&b));
        }
    });
    eprintln!(
        "matmul: 30 runs wall {:.2} s, {} (2 cores: up to 2 cpu-s per wall-s)",
        wall.as_secs_f64(),
        describe_cpu(30.0 * flops, cpu)
    );
    eprintln!(
        "matmul {n}x{n}x{n} f32: median {:.1} ms = {:.1} GFLOP/s, best {:.1} ms = {:.1} GFLOP/s (target >= 100)",
        times[15].as_secs_f64() * 1e3,
        gflops(flops, times[15]),
        times[0].as_secs_f64() * 1e3,
        gflops(flops, times[0])
    );
    let mut g = c.benchmark_group("matmul");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.throughput(criterion::Throughput::Elements(flops as u64));
    g.bench_function("f32_1024", |bch| bch.iter(|| black_box(a.dot(&b))));
    g.finish();
}

fn sparsegpt(c: &mut Criterion) {
    let (rows, cols, tokens) = (4096, 4096, 8192);
    let w = uniform(rows, cols, 5);
    let x = calibration(tokens, cols);

    // One timed pass, phase by phase.
    let gram_flops = (cols as f64 + 256.0) * cols as f64 * tokens as f64;
    let (g, t_gram, c_gram) = timed(|| gram(x.view()));
    let mut h = g * (2.0 / tokens as f32);
    let mean = h.diag().mean().unwrap_or(1.0);
    h.diag_mut().mapv_inplace(|v| v + 0.01 * mean);
    let n3 = (cols as f64).powi(3);
    let (u, t_inv, c_inv) =
        timed(|| upper_cholesky_of_inverse(h.view()).expect("damped Hessian of Z A is SPD"));
    black_box(u);
    let hess = Hessian::from_inputs(x.view()).expect("finite inputs");
    let (r, t_prune, c_prune) = timed(|| {
        prune_with_hessian(
            w.view(),
            &hess,
            PruneMethod::SparseGpt,
            0.5,
            SparsityPattern::Unstructured,
            &SparseGptOptions::default(),
        )
        .expect("prunes")
    });
    // The whole pipeline (Hessian from X, then pruning), as timed and benchmarked below.
    let prune_full = || {
        prune(
            w.view(),
            Some(x.view()),
            PruneMethod::SparseGpt,
            0.5,
            SparsityPattern::Unstructured,
        )
        .expect("prunes")
    };
    let (full, t_full, c_full) = timed(prune_full);
    assert_eq!(full.mask, r.mask);
    // GEMM flops: Gram, Cholesky n^3/3, triangular inverse n^3/3, lazy updates
    // sum over blocks of 2 * rows * 128 * (remaining columns) = rows * cols^2.
    let update_flops = rows as f64 * (cols as f64).powi(2);
    let total_flops = gram_flops + 2.0 * n3 / 3.0 + update_flops;
    eprintln!(
        "SparseGPT 4096x4096, 8192 tokens, 50%: total wall {:.2} s (target <= 10 s), {}\n  \
         Hessian X^T X: wall {:.2} s = {:.0} GFLOP/s, {}\n  \
         upper Cholesky of H^-1: wall {:.2} s, {}\n  \
         pruning given H (damping, factorisation, masks, block updates): wall {:.2} s, {}\n  \
         achieved sparsity {}",
        t_full.as_secs_f64(),
        describe_cpu(total_flops, c_full),
        t_gram.as_secs_f64(),
        gflops(gram_flops, t_gram),
        describe_cpu(gram_flops, c_gram),
        t_inv.as_secs_f64(),
        describe_cpu(2.0 * n3 / 3.0, c_inv),
        t_prune.as_secs_f64(),
        describe_cpu(2.0 * n3 / 3.0 + update_flops, c_prune),
        r.achieved_sparsity
    );

    let mut g = c.benchmark_group("sparsegpt");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("4096x4096_8192_tokens_50pct", |bch| {
        bch.iter(|| black_box(prune_full()))
    });
    g.finish();
}

fn small_kernels(c: &mut Criterion) {
    let w = uniform(4096, 4096, 6);
    let x = calibration(2048, 4096);
    let spd = {
        let mut h = gram(x.view()) * (2.0 / 2048.0);
        let mean = h.diag().mean().unwrap_or(1.0);
        h.diag_mut().mapv_inplace(|v| v + 0.01 * mean);
        h
    };
    let mut g = c.benchmark_group("luc_kernels");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.bench_function("cholesky_4096", |b| {
        b.iter(|| black_box(cholesky(spd.view()).expect("spd")))
    });
    g.bench_function("fake_quant_4bit_per_channel_4096x4096", |b| {
        b.iter(|| black_box(fake_quant(w.view(), 4, Granularity::PerChannel).expect("ok")))
    });
    g.bench_function("wanda_50pct_4096x4096_2048_tokens", |b| {
        b.iter(|| {
            black_box(
                prune(
                    w.view(),
                    Some(x.view()),
                    PruneMethod::Wanda,
                    0.5,
                    SparsityPattern::Unstructured,
                )
                .expect("prunes"),
            )
        })
    });
    g.bench_function("magnitude_2of4_4096x4096", |b| {
        b.iter(|| {
            black_box(
                prune(
                    w.view(),
                    None,
                    PruneMethod::Magnitude,
                    0.5,
                    SparsityPattern::NM { n: 2, m: 4 },
                )
                .expect("prunes"),
            )
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // No plots: the HTML plots need system fonts, and the figures are printed anyway.
    config = Criterion::default().without_plots();
    targets = matmul, sparsegpt, small_kernels
}
criterion_main!(benches);
