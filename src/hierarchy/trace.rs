//! What one piece of work (a `get`, a revalidation, an upload) has done so far: when it started,
//! in which session, and which layers it asked. Carried through the steps of a lookup instead of
//! threading `start` and `consulted` by hand, turned into the stats of the answer at the end,
//! and checked before every write: work of a session that `clear()` or `close()` ended writes
//! nothing and hands nothing out.

use crate::clock::Millis;
use crate::vocabulary::Layer;

/// The start time of a piece of work, its session and the layers it consulted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trace {
    /// When the work started (monotonic ms).
    pub start: Millis,
    /// The session it started in (see [`super::Hierarchy::is_current`]).
    pub session: u64,
    consulted: [bool; 4],
}

impl Trace {
    /// Work that starts at `start` in `session` and has asked memory (every lookup does).
    pub fn new(start: Millis, session: u64) -> Self {
        let mut trace = Trace {
            start,
            session,
            consulted: [false; 4],
        };
        trace.asked(Layer::Memory);
        trace
    }

    /// Notes that `layer` was asked.
    pub fn asked(&mut self, layer: Layer) {
        self.consulted[layer as usize] = true;
    }

    /// The layers asked, top to bottom.
    pub fn consulted(&self) -> impl Iterator<Item = Layer> + '_ {
        Layer::ALL
            .into_iter()
            .filter(|layer| self.consulted[*layer as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_are_listed_top_to_bottom_once() {
        let mut trace = Trace::new(5.0, 0);
        trace.asked(Layer::Network);
        trace.asked(Layer::Local);
        trace.asked(Layer::Local);
        let layers: Vec<Layer> = trace.consulted().collect();
        assert_eq!(layers, vec![Layer::Memory, Layer::Local, Layer::Network]);
    }
}
