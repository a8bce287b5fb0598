//! What one `get` has done so far: when it started and which layers it asked. Carried through
//! the steps of a lookup instead of threading `start` and `consulted` by hand, and turned into
//! the stats of the answer at the end.

use crate::clock::Millis;
use crate::vocabulary::Layer;

/// The start time of a lookup and the layers it consulted, in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trace {
    /// When the lookup started (monotonic ms).
    pub start: Millis,
    consulted: [bool; 4],
}

impl Trace {
    /// A lookup that starts at `start` and has asked memory (every lookup does).
    pub fn new(start: Millis) -> Self {
        let mut trace = Trace {
            start,
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
        let mut trace = Trace::new(5.0);
        trace.asked(Layer::Network);
        trace.asked(Layer::Local);
        trace.asked(Layer::Local);
        let layers: Vec<Layer> = trace.consulted().collect();
        assert_eq!(layers, vec![Layer::Memory, Layer::Local, Layer::Network]);
    }
}
