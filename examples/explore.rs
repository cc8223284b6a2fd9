use edgesim::cost::synthetic::*;
use edgesim::search::*;
fn main() {
    let hw = edgesim::hw::HwConfig::paper_default();
    for (w, p, bp) in [(8, 0.0, 32), (5, 0.5, 8)] {
        let mut s = SyntheticSpec::llama7b_like();
        s.w_bits = w;
        s.sparsity = p;
        s.backprop_layers = bp;
        let tr = synthetic_trace(&s);
        let t0 = std::time::Instant::now();
        let m = edgesim::cost::Model::new(&hw, &tr).unwrap();
        let t1 = t0.elapsed();
        let r = search_model(&m, &SearchOptions::default());
        let v = search_model(&m, &SearchOptions::vanilla());
        println!("model {:?} search {:?}", t1, t0.elapsed());
        println!(
            "{:#?}",
            r.best.as_ref().map(|b| (
                b.seconds_per_iteration,
                b.schedule.to_string(),
                b.bound,
                b.peak_bytes,
                b.memory_bytes / 1e9,
                &b.bound_seconds
            ))
        );
        println!(
            "lb {:?} gap {:?} cand {} space {}",
            r.lower_bound, r.gap, r.candidates_evaluated, r.space_size
        );
        println!(
            "vanilla {:#?}",
            v.best.as_ref().map(|b| (
                b.seconds_per_iteration,
                b.schedule.to_string(),
                b.bound,
                b.memory_bytes / 1e9
            ))
        );
    }
}
