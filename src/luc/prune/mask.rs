//! Exact mask selection shared by the pruners.
//!
//! Every selection picks the `k` lowest scores with a total order: score first, then
//! position (row-major flat index), so equal scores are pruned left to right and the mask
//! is deterministic. Masks are `true` where a weight is kept.

use ndarray::{Array2, ArrayView2, ArrayViewMut1, Zip};

/// Number of weights to prune out of `count` at sparsity `p`: `round(p * count)` (halves
/// away from zero), never more than `count`.
pub fn pruned_count(p: f64, count: usize) -> usize {
    ((p * count as f64).round() as usize).min(count)
}

/// Splits `round(p * total)` pruned weights over consecutive chunks of the given sizes so
/// that every chunk gets `floor` or `ceil` of `p * size` and the counts add up exactly:
/// chunk `i` gets `round(p * end_i) - round(p * start_i)` (a telescoping sum).
pub fn distribute(p: f64, sizes: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut start = 0usize;
    sizes
        .into_iter()
        .map(|size| {
            let end = start + size;
            let k = pruned_count(p, end) - pruned_count(p, start);
            start = end;
            k
        })
        .collect()
}

/// Indices (into `scores`) of the `k` smallest scores, ties broken by lower index.
pub fn smallest(scores: &[f32], k: usize) -> Vec<usize> {
    let mut idx = Vec::new();
    smallest_into(scores, k, &mut idx);
    idx
}

/// [`smallest`] into a reusable buffer (the N:M loops call it once per group).
pub fn smallest_into(scores: &[f32], k: usize, idx: &mut Vec<usize>) {
    let k = k.min(scores.len());
    idx.clear();
    if k == 0 {
        return;
    }
    idx.extend(0..scores.len());
    if k < idx.len() {
        idx.select_nth_unstable_by(k, |&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
        idx.truncate(k);
    }
}

/// Marks the `k` lowest-scored entries of one row as pruned (`false`).
fn prune_row(scores: &[f32], k: usize, mut keep: ArrayViewMut1<bool>) {
    for j in smallest(scores, k) {
        keep[j] = false;
    }
}

/// Per-row selection: row `r` prunes its `counts[r]` lowest scores.
pub fn per_row(scores: ArrayView2<f32>, counts: &[usize]) -> Array2<bool> {
    let mut keep = Array2::from_elem(scores.raw_dim(), true);
    Zip::from(scores.rows())
        .and(keep.rows_mut())
        .and(counts)
        .par_for_each(|s, keep_row, &k| {
            let s = s.to_vec();
            prune_row(&s, k, keep_row);
        });
    keep
}

/// Whole-matrix selection: the `k` lowest scores anywhere in the matrix.
///
/// Finds the `k`-th smallest score `t` by selection on a copy of the values (no index
/// array), then prunes every score below `t` and the first scores equal to `t` in
/// row-major order until `k` are pruned: the same set as sorting by (score, position).
pub fn whole_matrix(scores: ArrayView2<f32>, k: usize) -> Array2<bool> {
    let k = k.min(scores.len());
    if k == 0 {
        return Array2::from_elem(scores.raw_dim(), true);
    }
    let mut values: Vec<f32> = scores.iter().copied().collect();
    let (_, &mut t, _) = values.select_nth_unstable_by(k - 1, f32::total_cmp);
    let below = scores.iter().filter(|v| v.total_cmp(&t).is_lt()).count();
    let mut ties = k - below;
    // `iter` walks in logical row-major order whatever the memory layout.
    let flags: Vec<bool> = scores
        .iter()
        .map(|v| match v.total_cmp(&t) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal if ties > 0 => {
                ties -= 1;
                false
            }
            _ => true,
        })
        .collect();
    Array2::from_shape_vec(scores.raw_dim(), flags).expect("one flag per score, in standard layout")
}

/// N:M selection: in every group of `m` consecutive columns of every row, the `n` lowest
/// scores are pruned. The caller checks that `m` divides the number of columns.
pub fn n_of_m(scores: ArrayView2<f32>, n: usize, m: usize) -> Array2<bool> {
    let mut keep = Array2::from_elem(scores.raw_dim(), true);
    Zip::from(scores.rows())
        .and(keep.rows_mut())
        .par_for_each(|s, mut keep_row| {
            let s = s.to_vec();
            let mut idx = Vec::with_capacity(m);
            for (g, chunk) in s.chunks(m).enumerate() {
                smallest_into(chunk, n, &mut idx);
                for &j in &idx {
                    keep_row[g * m + j] = false;
                }
            }
        });
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn counts_round_and_telescope() {
        assert_eq!(pruned_count(0.5, 7), 4); // 3.5 -> 4
        assert_eq!(pruned_count(0.3, 10), 3);
        assert_eq!(pruned_count(1.0, 9), 9);
        assert_eq!(pruned_count(0.0, 9), 0);
        let d = distribute(0.5, [3, 3, 3, 3]);
        // Cumulative targets round(1.5)=2, 3, round(4.5)=5, 6.
        assert_eq!(d, vec![2, 1, 2, 1]);
        assert_eq!(d.iter().sum::<usize>(), pruned_count(0.5, 12));
        let d = distribute(0.37, std::iter::repeat_n(11, 50));
        assert_eq!(d.iter().sum::<usize>(), pruned_count(0.37, 550));
        assert!(d.iter().all(|&k| k == 4 || k == 5)); // floor / ceil of 4.07
    }

    #[test]
    fn smallest_breaks_ties_by_index() {
        let s = [3.0f32, 1.0, 1.0, 0.5, 1.0];
        let mut got = smallest(&s, 3);
        got.sort();
        assert_eq!(got, vec![1, 2, 3]);
        assert!(smallest(&s, 0).is_empty());
        assert_eq!(smallest(&s, 9).len(), 5);
    }

    #[test]
    fn masks_have_exact_counts() {
        let s = array![
            [4.0f32, 3.0, 2.0, 1.0],
            [1.0, 2.0, 3.0, 4.0],
            [0.0, 0.0, 9.0, 9.0]
        ];
        let m = per_row(s.view(), &[1, 2, 0]);
        assert_eq!(
            m,
            array![
                [true, true, true, false],
                [false, false, true, true],
                [true, true, true, true]
            ]
        );
        let m = whole_matrix(s.view(), 3);
        // The two zeros and the first 1.0 in row-major order (row 0, column 3).
        assert_eq!(m.iter().filter(|k| !**k).count(), 3);
        assert!(!m[[2, 0]] && !m[[2, 1]] && !m[[0, 3]]);
        let m = n_of_m(s.view(), 1, 2);
        assert_eq!(
            m,
            array![
                [true, false, true, false],
                [false, true, false, true],
                [false, true, false, true]
            ]
        );
    }
}
