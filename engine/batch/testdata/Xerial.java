import org.xerial.snappy.SnappyOutputStream;
import java.io.*;
public class Xerial {
  public static void main(String[] a) throws Exception {
    byte[] in = System.in.readAllBytes();
    // Kafka's SnappyFactory: new SnappyOutputStream(out) with the default 32 KiB block.
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    SnappyOutputStream s = new SnappyOutputStream(bos);
    s.write(in); s.close();
    System.out.write(bos.toByteArray()); System.out.flush();
  }
}
