#!/bin/sh
# GDAL's reading of every fixture make.py writes, kept so the tests need no GDAL:
# `gdalinfo -json` (size, type, geotransform, CRS, no-data, band descriptions), the EPSG
# code `gdalsrsinfo -e` matches the CRS with, and every
# pixel of every band through `gdallocationinfo -valonly` (pixels in row-major order, one
# value a line; complex values as GDAL prints them, `re+imi`). GDAL 3.6.2.
set -e
cd "$(dirname "$0")"
rm -rf answers
mkdir -p answers
W=7
H=5
pixels() {
    r=0
    while [ $r -lt $H ]; do
        c=0
        while [ $c -lt $W ]; do
            echo "$c $r"
            c=$((c + 1))
        done
        r=$((r + 1))
    done
}
answer() { # file key bands
    gdalinfo -json "$1" > "answers/$2.json"
    # GDAL's EPSG match of the CRS (EPSG:0 when it finds none).
    gdalsrsinfo -e "$1" 2>/dev/null | grep '^EPSG:' > "answers/$2.epsg.txt" || true
    b=1
    while [ $b -le "$3" ]; do
        pixels | gdallocationinfo -valonly -b $b "$1" > "answers/$2.b$b.txt"
        b=$((b + 1))
    done
}
for f in flat unw unw.conncomp unw.geo; do
    n=1; [ "$f" = unw ] || [ "$f" = unw.geo ] && n=2
    answer isce/filt_topophase.$f "isce_$f" $n          # GDAL's ISCE driver (the .xml)
    answer isce/filt_topophase.$f.vrt "isce_$f.vrt" $n  # GDAL's VRT driver
done
answer envi/disp_utm.img envi_disp_utm 3
answer envi/demLat_N50_N51_Lon_E018_E019.dem.wgs84 envi_dem 1
answer envi/ifg.cpx envi_ifg 2
for p in S1_ifg_TC S1_ifg_deb_flt; do
    for img in dimap/$p.data/*.img; do
        b=$(basename "$img" .img)
        answer "$img" "dimap_${p}_$b" 1
    done
done
