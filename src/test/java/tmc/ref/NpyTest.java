package tmc.ref;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tmc.check.DType;

class NpyTest {
    @Test
    void roundTripsEveryDtypeAndRank(@TempDir Path dir) throws IOException {
        int[][] shapes = {{}, {5}, {3, 4}, {2, 3, 1, 5}, {0, 4}};
        for (DType t : DType.values()) {
            for (int[] shape : shapes) {
                Tensor a = Tensors.random(t, 3, "a", 0, 100, shape);
                Path f = dir.resolve(t + "_" + shape.length + ".npy");
                Npy.write(f, a);
                Tensor b = Npy.read(f);
                assertEquals(a, b, t + " " + java.util.Arrays.toString(shape));
            }
        }
    }

    @Test
    void storageBytesAreLittleEndianBitPatterns() {
        float[] v = {1f, -2f};
        assertArrayEquals(new byte[] {0x00, 0x3c, 0x00, (byte) 0xc0}, Tensor.of(DType.F16, new int[] {2}, v).toBytes());
        assertArrayEquals(new byte[] {(byte) 0x80, 0x3f, 0x00, (byte) 0xc0}, Tensor.of(DType.BF16, new int[] {2}, v).toBytes());
        assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, (byte) 0xc0},
                Tensor.of(DType.F32, new int[] {2}, v).toBytes());
        for (DType t : DType.values()) {
            Tensor a = Tensors.random(t, 4, "a", 0, 1, 3, 5);
            assertEquals(a, Tensor.fromBytes(t, a.shape(), a.toBytes()));
        }
        assertThrows(IllegalArgumentException.class, () -> Tensor.fromBytes(DType.F16, new int[] {3}, new byte[5]));
    }

    @Test
    void specialValuesSurvive() throws IOException {
        float[] v = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0x1p-24f, 65504f, -1.5f};
        for (DType t : DType.values()) {
            Tensor a = Tensor.of(t, new int[] {v.length}, v);
            Tensor b = Npy.decode(Npy.encode(a), "mem");
            assertEquals(a, b, t.toString());
        }
    }

    @Test
    void headerIsWhatNumpyWrites() {
        byte[] bytes = Npy.encode(Tensor.zeros(DType.F16, 2, 3));
        int headerLen = (bytes[8] & 0xff) | (bytes[9] & 0xff) << 8;
        assertEquals(0, (10 + headerLen) % 64, "data starts at a multiple of 64");
        String header = new String(bytes, 10, headerLen, StandardCharsets.US_ASCII);
        assertTrue(header.startsWith("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }"), header);
        assertTrue(header.endsWith("\n"));
        assertTrue(new String(Npy.encode(Tensor.zeros(DType.BF16, 7)), StandardCharsets.US_ASCII)
                .contains("'descr': '<u2', 'fortran_order': False, 'shape': (7,), }"));
        assertEquals(10 + headerLen + 12, bytes.length);
    }

    @Test
    void readsAFileNumpyWrote() throws IOException {
        // Written by numpy (np.save) in scripts/golden/make_golden.py.
        Path f = Golden.DIR.resolve("convfirst/n3_h9_w13/x.npy");
        Tensor x = Npy.read(f);
        assertEquals(DType.F16, x.dtype());
        assertArrayEquals(new int[] {3, 9, 13, 32}, x.shape());
        Tensor bc = Npy.read(Golden.DIR.resolve("convfirst/n3_h9_w13/bc.npy"));
        assertEquals(DType.F32, bc.dtype());
        Tensor xb = Npy.read(Golden.DIR.resolve("convfirst/n2_h8_w8_bf16/x.npy"));
        assertEquals(DType.BF16, xb.dtype());
        double rms = Compare.rms(xb.toArray());
        assertTrue(rms > 0.8 && rms < 1.2, "bf16 bits decode to the standard normal inputs, rms " + rms);
    }

    private static byte[] npy(int major, String header, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        byte[] h = header.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer len = ByteBuffer.allocate(major == 1 ? 2 : 4).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1) len.putShort((short) h.length);
        else len.putInt(h.length);
        out.writeBytes(len.array());
        out.writeBytes(h);
        out.writeBytes(data);
        return out.toByteArray();
    }

    private static String err(byte[] bytes) {
        return assertThrows(Npy.FormatException.class, () -> Npy.decode(bytes, "t.npy")).getMessage();
    }

    @Test
    void readsVersion2Headers() throws IOException {
        byte[] data = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f).array();
        Tensor t = Npy.decode(npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", data), "t");
        assertArrayEquals(new float[] {1.5f, -2f}, t.toArray());
    }

    @Test
    void refusesWhatItDoesNotSupportWithClearMessages() {
        String ok = "'fortran_order': False, 'shape': (2,), }\n";
        assertTrue(err(npy(1, "{'descr': '<f8', " + ok, new byte[16])).contains("unsupported .npy dtype '<f8'"));
        assertTrue(err(npy(1, "{'descr': '>f4', " + ok, new byte[8])).contains("'>f4'"));
        assertTrue(err(npy(1, "{'descr': '<i4', " + ok, new byte[8])).contains("'<i4'"));
        assertTrue(err(npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }\n", new byte[8]))
                .contains("Fortran"));
        assertTrue(err(npy(1, "{'descr': '<f4', " + ok, new byte[7])).contains("has 7 bytes but shape [2] of <f4 needs 8"));
        assertTrue(err(npy(1, "{'descr': '<f4', " + ok, new byte[9])).contains("needs 8"));
        assertTrue(err(npy(4, "{'descr': '<f4', " + ok, new byte[8])).contains("version 4"));
        assertTrue(err(npy(1, "{'descr': '<f4', 'extra': 1, " + ok, new byte[8])).contains("unexpected key 'extra'"));
        assertTrue(err(npy(1, "{'descr': '<f4', 'fortran_order': False}\n", new byte[8])).contains("lacks"));
        assertTrue(err("not numpy at all".getBytes(StandardCharsets.US_ASCII)).contains("bad magic"));
        assertTrue(err(new byte[3]).contains("not a .npy file"));
    }
}
