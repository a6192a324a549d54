//! Writes the TorchScript model fixtures of `tests/fixtures/torch/` from the sources below, with
//! the backend's own C++ shim (no Python torch needed):
//!
//! ```text
//! cargo run -p redisai-backends --features torch --example torch_fixtures
//! ```
//!
//! The files are checked in; run this again only to change them. The script fixtures
//! (`*.txt`) are plain TorchScript source, written by hand.

use std::path::PathBuf;

use anyhow::Context;

/// (file, TorchScript source of the module's methods)
const MODELS: &[(&str, &str)] = &[
    // forward(a, b) = a + b, as RedisAI's tests/flow/test_data/pt-minimal.pt
    (
        "pt-minimal.pt",
        "def forward(self, a, b):\n    return a + b\n",
    ),
    // a tuple of two outputs
    (
        "pt-tuple.pt",
        "def forward(self, a, b):\n    return a + b, a - b\n",
    ),
    // a list of three outputs: their number is only known after a run
    (
        "pt-list.pt",
        "def forward(self, a, b):\n    return [a + b, a - b, a * b]\n",
    ),
    // outputs whose dim 0 is twice the inputs' (auto-batching must refuse to split them)
    (
        "batchdim_mismatch.pt",
        "def forward(self, a, b):\n    return torch.cat([a, a]), torch.cat([b, b])\n",
    ),
    // one input returned as is (dtypes round trip)
    ("pt-identity.pt", "def forward(self, x):\n    return x\n"),
];

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/torch");
    std::fs::create_dir_all(&dir)?;
    for (file, source) in MODELS {
        let bytes = redisai_backends::torch_module_from_source(source)
            .with_context(|| format!("building {file}"))?;
        let path = dir.join(file);
        std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}
