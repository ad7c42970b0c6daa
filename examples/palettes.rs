//! Writes a swatch PNG of every built-in palette to `docs/palettes/<name>.png` (256 × 24 pixels, the
//! palette's 256 entries left to right), for docs/EFFECTS.md. Run from the repository root:
//! `cargo run --example palettes`. The swatches show the colours as they are before gamma, i.e. as
//! screens show sRGB; LEDs apply the strip's gamma on top.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use diuna::palette::Palettes;

const WIDTH: u32 = 256;
const HEIGHT: u32 = 24;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new("docs/palettes");
    std::fs::create_dir_all(dir)?;
    let palettes = Palettes::default();
    for p in palettes.iter() {
        let row: Vec<u8> = p.table().iter().flat_map(|c| [c.r, c.g, c.b]).collect();
        let path = dir.join(format!("{}.png", p.name));
        let mut enc = png::Encoder::new(BufWriter::new(File::create(&path)?), WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(&row.repeat(HEIGHT as usize))?;
        println!("{}", path.display());
    }
    Ok(())
}
