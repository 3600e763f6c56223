//! Web Mercator (EPSG:3857) in "world" units: the whole map is the square `[0, 1] × [0, 1]`,
//! `y` growing southwards as in tile coordinates. Tile `(z, x, y)` covers
//! `[x, x + 1] / 2^z × [y, y + 1] / 2^z`.
//!
//! Hand-written: the two formulas below are all Lentera needs of a projection library.

use std::f64::consts::PI;

/// Latitude beyond which Web Mercator is cut off.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// World coordinates of a longitude/latitude.
pub fn to_world(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0;
    (x, y)
}

/// Longitude/latitude of world coordinates.
pub fn to_lon_lat(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    (lon, lat)
}

/// The longitude/latitude box `[west, south, east, north]` of tile `(z, x, y)` grown by
/// `buffer` (a fraction of the tile's side) on every side.
pub fn tile_bounds(z: u8, x: u32, y: u32, buffer: f64) -> [f64; 4] {
    let n = f64::from(1u32 << z);
    let (x0, y0) = ((f64::from(x) - buffer) / n, (f64::from(y) - buffer) / n);
    let (x1, y1) = (
        (f64::from(x) + 1.0 + buffer) / n,
        (f64::from(y) + 1.0 + buffer) / n,
    );
    let (west, north) = to_lon_lat(x0, y0);
    let (east, south) = to_lon_lat(x1, y1);
    [west, south, east, north]
}

/// The tiles of zoom `z` that a longitude/latitude box touches: `(x0, y0, x1, y1)` inclusive.
pub fn tiles_covering(bbox: [f64; 4], z: u8) -> (u32, u32, u32, u32) {
    let n = 1u32 << z;
    let clamp = |v: f64| ((v * f64::from(n)).floor().max(0.0) as u32).min(n - 1);
    let (x0, y1) = to_world(bbox[0], bbox[1]);
    let (x1, y0) = to_world(bbox[2], bbox[3]);
    (clamp(x0), clamp(y0), clamp(x1), clamp(y1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_tiles() {
        let (x, y) = to_world(117.15, -0.5);
        let (lon, lat) = to_lon_lat(x, y);
        assert!((lon - 117.15).abs() < 1e-9 && (lat + 0.5).abs() < 1e-9);
        let (x0, y0) = to_world(-180.0, MAX_LAT);
        assert!(x0.abs() < 1e-12 && y0.abs() < 1e-12);
        // Samarinda lies in tile 8/211/127.
        assert_eq!(
            tiles_covering([117.15, -0.5, 117.15, -0.5], 8),
            (211, 128, 211, 128)
        );
        let b = tile_bounds(8, 211, 128, 0.0);
        assert!(b[0] <= 117.15 && b[2] >= 117.15 && b[1] <= -0.5 && b[3] >= -0.5);
    }
}
