#!/usr/bin/env python3
"""Writes the raw-raster fixtures of tests/raw_formats.rs, byte for byte as the tools
write them (see README.md for what each layout was checked against). Standard library
only; run from this folder: `python3 make.py`, then `sh gdal_answers.sh`."""
import os
import struct

W, H = 7, 5


def val(k, i):
    """Sample i (row-major) of series k: multiples of 1/8, exact in float32 and int16."""
    return ((i * 7919 + k * 104729) % 1000 - 500) / 8.0


def write(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def pack(fmt, values):
    return b"".join(struct.pack(fmt, v) for v in values)


# ---------------------------------------------------------------- ISCE2 (topsApp merged/)
# Image.py: XmlDumper writes <imageFile> with lower-case property names, a <value> and a
# <doc> each, coordinate1/coordinate2 components; renderVRT writes the .vrt beside it.

def isce_xml(name, dtype, bands, scheme, image_type, geo=None):
    c1 = (geo[0], geo[1]) if geo else (0.0, 1.0)
    c2 = (geo[2], geo[3]) if geo else (0.0, 1.0)

    def prop(n, v, doc, indent="    "):
        return (f'{indent}<property name="{n}">\n{indent}    <value>{v}</value>\n'
                f'{indent}    <doc>{doc}</doc>\n{indent}</property>\n')

    def coord(n, size, start, delta, doc):
        p = "        "
        return (f'    <component name="{n}">\n'
                f'        <factorymodule>isceobj.Image</factorymodule>\n'
                f'        <factoryname>createCoordinate</factoryname>\n'
                f'        <doc>{doc}</doc>\n'
                + prop("delta", delta, "Coordinate quantization.", p)
                + prop("endingvalue", start + size * delta, "Ending value of the coordinate.", p)
                + prop("family", "imagecoordinate", "Instance family name", p)
                + prop("name", "imagecoordinate_name", "Instance name", p)
                + prop("size", size, "Coordinate size.", p)
                + prop("startingvalue", start, "Starting value of the coordinate.", p)
                + '    </component>\n')

    return ("<imageFile>\n"
            '    <property name="ISCE_VERSION">\n'
            "        <value>Release: 2.6.3, svn-, 20230418. Current: svn-.</value>\n"
            "    </property>\n"
            + prop("access_mode", "read", "Image access mode.")
            + prop("byte_order", "l", "Endianness of the image.")
            + coord("coordinate1", W, c1[0], c1[1], "First coordinate of a 2D image (width).")
            + coord("coordinate2", H, c2[0], c2[1], "Second coordinate of a 2D image (length).")
            + prop("data_type", dtype, "Image data type.")
            + prop("extra_file_name", name + ".vrt", "For example name of vrt metadata.")
            + prop("family", "image", "Instance family name")
            + prop("file_name", "/home/insar/proc/merged/" + name, "Name of the image file.")
            + prop("image_type", image_type, "Image type used for displaying.")
            + prop("length", H, "Image length")
            + prop("name", "image_name", "Instance name")
            + prop("number_bands", bands, "Number of image bands.")
            + prop("scheme", scheme, "Interleaving scheme of the image.")
            + prop("width", W, "Image width")
            + prop("xmax", c1[0] + W * c1[1], "Maximum range value")
            + prop("xmin", c1[0], "Minimum range value")
            + "</imageFile>")


def isce_vrt(name, gdal_type, nbytes, bands, scheme, geo=None):
    # renderVRT: ElementTree with 4-space indentation; attributes in insertion order.
    out = f'<VRTDataset rasterXSize="{W}" rasterYSize="{H}">\n'
    if geo:
        out += "    <SRS>EPSG:4326</SRS>\n"
        out += "    <GeoTransform>{0}, {1}, 0.0, {2}, 0.0, {3}</GeoTransform>\n".format(*geo)
    for b in range(bands):
        if scheme == "BIL":
            offs = (b * W * nbytes, nbytes, bands * W * nbytes)
        elif scheme == "BIP":
            offs = (b * nbytes, bands * nbytes, bands * W * nbytes)
        else:
            offs = (b * W * H * nbytes, nbytes, W * nbytes)
        out += (f'    <VRTRasterBand dataType="{gdal_type}" band="{b + 1}" subClass="VRTRawRasterBand">\n'
                f'        <SourceFilename relativeToVRT="1">{name}</SourceFilename>\n'
                f"        <ByteOrder>LSB</ByteOrder>\n"
                f"        <ImageOffset>{offs[0]}</ImageOffset>\n"
                f"        <PixelOffset>{offs[1]}</PixelOffset>\n"
                f"        <LineOffset>{offs[2]}</LineOffset>\n"
                f"    </VRTRasterBand>\n")
    return out + "</VRTDataset>"


def bil(bands_values, fmt):
    """Line-interleaved: row r of band 0, row r of band 1, …"""
    out = b""
    for r in range(H):
        for vals in bands_values:
            out += pack(fmt, vals[r * W:(r + 1) * W])
    return out


N = W * H
flat = [x for i in range(N) for x in (val(0, i), val(1, i))]
write("isce/filt_topophase.flat", pack("<f", flat))
write("isce/filt_topophase.flat.xml", isce_xml("filt_topophase.flat", "CFLOAT", 1, "BIL", "cpx"))
write("isce/filt_topophase.flat.vrt", isce_vrt("filt_topophase.flat", "CFloat32", 8, 1, "BIL"))

amp = [abs(val(2, i)) for i in range(N)]
unw = [val(3, i) for i in range(N)]
write("isce/filt_topophase.unw", bil([amp, unw], "<f"))
write("isce/filt_topophase.unw.xml", isce_xml("filt_topophase.unw", "FLOAT", 2, "BIL", "unw"))
write("isce/filt_topophase.unw.vrt", isce_vrt("filt_topophase.unw", "Float32", 4, 2, "BIL"))

cc = bytes(i % 3 for i in range(N))
write("isce/filt_topophase.unw.conncomp", cc)
write("isce/filt_topophase.unw.conncomp.xml",
      isce_xml("filt_topophase.unw.conncomp", "BYTE", 1, "BIL", "bil"))
write("isce/filt_topophase.unw.conncomp.vrt",
      isce_vrt("filt_topophase.unw.conncomp", "Byte", 1, 1, "BIL"))

geo = (18.9, 1 / 1200, 50.3, -1 / 1200)
amp_g = [abs(val(4, i)) for i in range(N)]
unw_g = [val(5, i) for i in range(N)]
write("isce/filt_topophase.unw.geo", bil([amp_g, unw_g], "<f"))
write("isce/filt_topophase.unw.geo.xml",
      isce_xml("filt_topophase.unw.geo", "FLOAT", 2, "BIL", "unw", geo))
write("isce/filt_topophase.unw.geo.vrt",
      isce_vrt("filt_topophase.unw.geo", "Float32", 4, 2, "BIL", geo))

# ---------------------------------------------------------------- ENVI
# (a) float32, band-interleaved by pixel, big-endian, a 16-byte header offset, band names,
# UTM map info referenced to the centre of the first pixel (1.5, 1.5), data ignore value.
a = [[val(6 + b, i) for i in range(N)] for b in range(3)]
for i in (3, 17):
    for b in range(3):
        a[b][i] = -9999.0
write("envi/disp_utm.img",
      b"ENVIHEADERJUNK!!" + pack(">f", [a[b][i] for i in range(N) for b in range(3)]))
write("envi/disp_utm.hdr", "ENVI\ndescription = {\n  displacement test}\n"
      f"samples = {W}\nlines   = {H}\nbands   = 3\nheader offset = 16\n"
      "file type = ENVI Standard\ndata type = 4\ninterleave = bip\nbyte order = 1\n"
      "band names = {\n amplitude,\n phase,\n coherence}\n"
      "map info = {UTM, 1.5, 1.5, 500010.0, 4000010.0, 20.0, 20.0, 33, North, WGS-84, units=Meters}\n"
      "data ignore value = -9999\n")

# (b) As ISCE's Image.renderEnviHDR writes a DEM's header (name + ".hdr", `map_info`
# spelled with an underscore, ESRI WKT): int16, one band, little-endian.
dem = [int(val(9, i) * 8) for i in range(N)]
name = "demLat_N50_N51_Lon_E018_E019.dem.wgs84"
write("envi/" + name, pack("<h", dem))
write("envi/" + name + ".hdr", "ENVI\ndescription = {Data product generated using ISCE}\n"
      f"samples = {W}\nlines   = {H}\nbands   = 1\nheader offset = 0\nfile type = ENVI Standard\n"
      "data type = 2\ninterleave = bip\nbyte order = 0\n"
      'coordinate system string = {GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137, 298.257223563]],PRIMEM["Greenwich",0],UNIT["Degree",0.0174532925199433]]}\n'
      "map_info = {Geographic Lat/Lon, 1.0, 1.0, 18.0, 51.0, 0.000277777777778, 0.000277777777778, WGS-84, units=Degrees}")

# (c) complex64, band-sequential, two bands, header named by replacing the extension.
c = [[complex(val(10 + 2 * b, i), val(11 + 2 * b, i)) for i in range(N)] for b in range(2)]
write("envi/ifg.cpx", pack("<f", [x for b in range(2) for z in c[b] for x in (z.real, z.imag)]))
write("envi/ifg.hdr", f"ENVI\nsamples = {W}\nlines = {H}\nbands = 2\nheader offset = 0\n"
      "file type = ENVI Standard\ndata type = 6\ninterleave = bsq\nbyte order = 0\n"
      "band names = { VV, VH }\n")

# ---------------------------------------------------------------- SNAP BEAM-DIMAP
# DimapHeaderWriter (.dim) and EnviHeader (one .hdr per band; big-endian, bsq, byte order 1).
WGS84DD = ('GEOGCS["WGS84(DD)", DATUM["WGS84", SPHEROID["WGS84", 6378137.0, 298.257223563]], '
           'PRIMEM["Greenwich", 0.0], UNIT["degree", 0.017453292519943295], '
           'AXIS["Geodetic longitude", EAST], AXIS["Geodetic latitude", NORTH]]')


def snap_hdr(band, dtype=4, geo=None):
    s = (f"ENVI\ndescription = {{Sentinel-1 IW Level-1 SLC Product - Unit: {band[1]}}}\n"
         f"samples = {W}\nlines = {H}\nbands = 1\nheader offset = 0\nfile type = ENVI Standard\n"
         f"data type = {dtype}\ninterleave = bsq\nbyte order = 1\nband names = {{ {band[0]} }}\n")
    if geo:
        x0, dx, y0, dy = geo
        s += (f"map info = {{Geographic Lat/Lon,1.5,1.5,{x0 + dx / 2!r},{y0 - dy / 2!r},{dx!r},{dy!r},"
              "WGS84,units=Degrees}\n")
        s += f"coordinate system string = {{{WGS84DD}}}\n"
    return s + "data gain values = {1.0}\ndata offset values = {0.0}\n"


def spectral(i, name, unit, expr=None, nodata=None):
    s = ("        <Spectral_Band_Info>\n"
         f"            <BAND_INDEX>{i}</BAND_INDEX>\n"
         "            <BAND_DESCRIPTION />\n"
         f"            <BAND_NAME>{name}</BAND_NAME>\n"
         f"            <BAND_RASTER_WIDTH>{W}</BAND_RASTER_WIDTH>\n"
         f"            <BAND_RASTER_HEIGHT>{H}</BAND_RASTER_HEIGHT>\n"
         "            <DATA_TYPE>float32</DATA_TYPE>\n"
         f"            <PHYSICAL_UNIT>{unit}</PHYSICAL_UNIT>\n"
         "            <SOLAR_FLUX>0.0</SOLAR_FLUX>\n"
         "            <BAND_WAVELEN>0.0</BAND_WAVELEN>\n"
         "            <BANDWIDTH>0.0</BANDWIDTH>\n"
         "            <SCALING_FACTOR>1.0</SCALING_FACTOR>\n"
         "            <SCALING_OFFSET>0.0</SCALING_OFFSET>\n"
         "            <LOG10_SCALED>false</LOG10_SCALED>\n"
         f"            <NO_DATA_VALUE_USED>{'true' if nodata is not None else 'false'}</NO_DATA_VALUE_USED>\n"
         f"            <NO_DATA_VALUE>{nodata if nodata is not None else 0.0}</NO_DATA_VALUE>\n")
    if expr:
        s += "            <VIRTUAL_BAND>true</VIRTUAL_BAND>\n"
        s += f"            <EXPRESSION>{expr}</EXPRESSION>\n"
    return s + "        </Spectral_Band_Info>\n"


def dim(product, bands, geo=None):
    """bands: (name, unit, values or None, expression or None, no-data or None)."""
    s = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
         f'<Dimap_Document name="{product}.dim">\n'
         "    <Metadata_Id>\n"
         '        <METADATA_FORMAT version="2.12.1">DIMAP</METADATA_FORMAT>\n'
         "        <METADATA_PROFILE>BEAM-DATAMODEL-V1</METADATA_PROFILE>\n"
         "    </Metadata_Id>\n"
         "    <Dataset_Id>\n"
         "        <DATASET_SERIES>BEAM-PRODUCT</DATASET_SERIES>\n"
         f"        <DATASET_NAME>{product}</DATASET_NAME>\n"
         "    </Dataset_Id>\n"
         "    <Production>\n"
         "        <DATASET_PRODUCER_NAME />\n"
         "        <PRODUCT_TYPE>SLC</PRODUCT_TYPE>\n"
         "    </Production>\n")
    if geo:
        x0, dx, y0, dy = geo
        s += ("    <Coordinate_Reference_System>\n        <WKT>\n             "
              + WGS84DD.replace(", ", ", \n               ")
              + "\n        </WKT>\n    </Coordinate_Reference_System>\n"
              "    <Geoposition>\n"
              f"        <IMAGE_TO_MODEL_TRANSFORM>{dx!r},0.0,0.0,{-dy!r},{x0!r},{y0!r}</IMAGE_TO_MODEL_TRANSFORM>\n"
              "    </Geoposition>\n")
    s += ("    <Raster_Dimensions>\n"
          f"        <NCOLS>{W}</NCOLS>\n        <NROWS>{H}</NROWS>\n        <NBANDS>{len(bands)}</NBANDS>\n"
          "    </Raster_Dimensions>\n"
          "    <Data_Access>\n"
          "        <DATA_FILE_FORMAT>ENVI</DATA_FILE_FORMAT>\n"
          "        <DATA_FILE_FORMAT_DESC>ENVI File Format</DATA_FILE_FORMAT_DESC>\n"
          "        <DATA_FILE_ORGANISATION>BAND_SEPARATE</DATA_FILE_ORGANISATION>\n")
    for i, (name, unit, values, expr, nodata) in enumerate(bands):
        if values is None:
            continue
        s += ("        <Data_File>\n"
              f'            <DATA_FILE_PATH href="{product}.data/{name}.hdr" />\n'
              f"            <BAND_INDEX>{i}</BAND_INDEX>\n"
              "        </Data_File>\n")
        write(f"dimap/{product}.data/{name}.hdr", snap_hdr((name, unit), 4, geo))
        write(f"dimap/{product}.data/{name}.img", pack(">f", values))
    s += "    </Data_Access>\n    <Image_Interpretation>\n"
    for i, (name, unit, values, expr, nodata) in enumerate(bands):
        s += spectral(i, name, unit, expr, nodata)
    s += "    </Image_Interpretation>\n</Dimap_Document>"
    write(f"dimap/{product}.dim", s)


sfx = "VV_01Jan2020_13Jan2020"
i_v = [val(20, i) for i in range(N)]
q_v = [val(21, i) for i in range(N)]
coh = [(i % 9) / 8.0 for i in range(N)]
dim("S1_ifg_TC", [
    (f"i_ifg_{sfx}", "real", i_v, None, None),
    (f"q_ifg_{sfx}", "imaginary", q_v, None, None),
    (f"Intensity_ifg_{sfx}", "intensity", None, f"i_ifg_{sfx} * i_ifg_{sfx} + q_ifg_{sfx} * q_ifg_{sfx}", None),
    (f"Phase_ifg_{sfx}", "phase", None, f"atan2(q_ifg_{sfx}, i_ifg_{sfx})", None),
    (f"coh_IW1_{sfx}", "coherence", coh, None, None),
], geo=(18.25, 1 / 3600, 50.125, 1 / 3600))

ph = [val(22, i) / 20.0 for i in range(N)]
ph[4] = 0.0
dim("S1_ifg_deb_flt", [
    (f"Intensity_ifg_{sfx}", "intensity", [abs(val(23, i)) for i in range(N)], None, None),
    (f"Phase_ifg_{sfx}", "phase", ph, None, 0.0),
    (f"coh_IW1_{sfx}", "coherence", coh, None, None),
])
