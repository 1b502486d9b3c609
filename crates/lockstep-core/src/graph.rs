//! Cycle detection over the item dependency graph, by index.
//!
//! Kept small and local: it answers "does this graph have a cycle, and which" for
//! validation. Scheduling and critical paths live in `lockstep-plan`.

/// Finds a cycle in a directed graph of `n_nodes` given as `(from, to)` edges.
/// Returns the nodes of one cycle in order, the first repeated at the end.
pub fn find_cycle(n_nodes: usize, edges: &[(usize, usize)]) -> Option<Vec<usize>> {
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n_nodes];
    for &(from, to) in edges {
        successors[from].push(to);
    }
    // Iterative three-colour DFS so that a 10,000-deep chain cannot overflow the stack.
    const WHITE: u8 = 0;
    const GREY: u8 = 1;
    const BLACK: u8 = 2;
    let mut colour = vec![WHITE; n_nodes];
    let mut parent = vec![usize::MAX; n_nodes];
    for root in 0..n_nodes {
        if colour[root] != WHITE {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        colour[root] = GREY;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&succ) = successors[node].get(*next) {
                *next += 1;
                match colour[succ] {
                    WHITE => {
                        colour[succ] = GREY;
                        parent[succ] = node;
                        stack.push((succ, 0));
                    }
                    GREY => {
                        let mut cycle = vec![succ];
                        let mut at = node;
                        while at != succ {
                            cycle.push(at);
                            at = parent[at];
                        }
                        cycle.push(succ);
                        cycle.reverse();
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                colour[node] = BLACK;
                stack.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_whole_cycle() {
        let cycle = find_cycle(4, &[(0, 1), (1, 2), (2, 3), (3, 1)]);
        assert_eq!(cycle, Some(vec![1, 2, 3, 1]));
    }

    #[test]
    fn accepts_a_dag() {
        assert_eq!(find_cycle(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]), None);
    }
}
