//! Training and evaluation token streams from the real novels and SmolLM2's tokenizer.

mod common;

use edgesim::llm::tokenizer::Tokenizer;
use edgesim::tune::data::{Order, TrainStream, eval_chunks, gguf_eos_id, tokenize_file};

#[test]
fn novels_tokenise_into_plausible_streams() {
    let Some(real) = common::real_data_or_skip("novels_tokenise_into_plausible_streams") else {
        return;
    };
    let tok = Tokenizer::from_gguf(&real.gguf).unwrap();
    let eos = gguf_eos_id(&real.gguf).unwrap();
    let eos = eos.expect("SmolLM2's GGUF names an EOS token");
    assert!((eos as usize) < tok.vocab_size());

    let paths = [real.novel("emma"), real.novel("sense_and_sensibility")];
    let docs: Vec<_> = paths
        .iter()
        .map(|p| tokenize_file(p, &tok).unwrap())
        .collect();
    for (d, p) in docs.iter().zip(&paths) {
        let text = std::fs::read_to_string(p).unwrap();
        // English prose under a 49k BPE vocabulary: between 3 and 6 bytes per token.
        let bytes_per_token = text.len() as f64 / d.ids.len() as f64;
        assert!(
            (3.0..6.0).contains(&bytes_per_token),
            "{}: {bytes_per_token}",
            d.name
        );
        // The novels are plain prose: the ids decode back to the text exactly.
        assert_eq!(tok.decode(&d.ids).unwrap(), text, "{}", d.name);
        assert!(!d.ids.contains(&eos));
    }
    let (n0, n1) = (docs[0].ids.len(), docs[1].ids.len());
    let s = TrainStream::new(docs, Some(eos), 128).unwrap();
    assert_eq!(s.ids.len(), n0 + 1 + n1);
    assert_eq!(s.ids[n0], eos);
    assert_eq!(s.documents[1].1, n0 + 1..n0 + 1 + n1);
    let r = Order::Random { seed: 7 };
    for i in 0..100 {
        assert_eq!(s.sample(r, i).len(), 129);
    }
    assert_eq!(s.sample(Order::Sequential, 1), &s.ids[128..257]);

    let held_out = tokenize_file(&real.novel("persuasion"), &tok).unwrap();
    let chunks = eval_chunks(&held_out.name, &held_out.ids, 128, 64).unwrap();
    assert_eq!(chunks.len(), 64);
    let stride = held_out.ids.len() / 64;
    assert_eq!(chunks[63][..], held_out.ids[63 * stride..63 * stride + 129]);
}
