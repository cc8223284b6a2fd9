//! Pareto fronts: the points no other point beats on every objective (all minimised).

/// True when `a` dominates `b`: no worse on every objective and strictly better on one.
/// NaN compares as worse than anything, so a NaN objective never dominates.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    let mut strictly = false;
    for (x, y) in a.iter().zip(b) {
        if x.is_nan() || (!y.is_nan() && x > y) {
            return false;
        }
        if y.is_nan() || x < y {
            strictly = true;
        }
    }
    strictly
}

/// Marks the non-dominated rows among those with `eligible[i]` (ineligible rows, e.g.
/// infeasible schedules, are never on the front and never dominate). Rows with identical
/// objectives do not dominate each other, so both stay on the front. O(n^2), which is
/// ample for sweeps of thousands of points.
pub fn front(objectives: &[Vec<f64>], eligible: &[bool]) -> Vec<bool> {
    (0..objectives.len())
        .map(|i| {
            eligible[i]
                && !(0..objectives.len())
                    .any(|j| j != i && eligible[j] && dominates(&objectives[j], &objectives[i]))
        })
        .collect()
}

/// Marks the front separately within each group (e.g. per workload): rows compete only
/// with rows of the same `group` value.
pub fn front_by_group<G: PartialEq>(
    groups: &[G],
    objectives: &[Vec<f64>],
    eligible: &[bool],
) -> Vec<bool> {
    (0..objectives.len())
        .map(|i| {
            eligible[i]
                && !(0..objectives.len()).any(|j| {
                    j != i
                        && eligible[j]
                        && groups[j] == groups[i]
                        && dominates(&objectives[j], &objectives[i])
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_front() {
        // (time, memory): A(1,5) B(2,3) C(3,3) D(4,1) E(2,3) F(5,5) G(0.5, 9) infeasible.
        // C is dominated by B (same memory, slower); F by everything; B and E tie (both kept);
        // G would dominate nothing in time-only terms but is ineligible.
        let pts: Vec<Vec<f64>> = [
            (1.0, 5.0),
            (2.0, 3.0),
            (3.0, 3.0),
            (4.0, 1.0),
            (2.0, 3.0),
            (5.0, 5.0),
            (0.5, 0.5),
        ]
        .iter()
        .map(|&(a, b)| vec![a, b])
        .collect();
        let ok = [true, true, true, true, true, true, false];
        let f = front(&pts, &ok);
        assert_eq!(f, vec![true, true, false, true, true, false, false]);
    }

    #[test]
    fn groups_compete_only_within() {
        let pts = vec![vec![1.0, 1.0], vec![2.0, 2.0], vec![3.0, 3.0]];
        let g = ["a", "b", "b"];
        assert_eq!(
            front_by_group(&g, &pts, &[true; 3]),
            vec![true, true, false]
        );
        assert_eq!(front(&pts, &[true; 3]), vec![true, false, false]);
    }

    #[test]
    fn nan_never_dominates() {
        assert!(!dominates(&[f64::NAN, 0.0], &[1.0, 1.0]));
        assert!(dominates(&[1.0, 1.0], &[f64::NAN, 1.0]));
    }
}
