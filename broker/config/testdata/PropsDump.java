// Prints how java.util.Properties.load reads each file given, for the
// differential test of broker/config's properties parser:
//   == <file name>
//   <hex of the key's UTF-8> <hex of the value's UTF-8>   (one line per entry, sorted)
// or "ERROR <message>" when load throws.
// Run: java broker/config/testdata/PropsDump.java <files...>
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;

public class PropsDump {
    static String hex(String s) {
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) b.append(String.format("%02x", x & 0xff));
        return b.length() == 0 ? "-" : b.toString();
    }

    public static void main(String[] args) throws Exception {
        for (String f : args) {
            System.out.println("== " + Paths.get(f).getFileName());
            Properties p = new Properties();
            try (Reader r = new InputStreamReader(new FileInputStream(f), StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (IllegalArgumentException e) {
                System.out.println("ERROR " + e.getMessage());
                continue;
            }
            List<String> lines = new ArrayList<>();
            for (String k : p.stringPropertyNames()) lines.add(hex(k) + " " + hex(p.getProperty(k)));
            Collections.sort(lines);
            for (String l : lines) System.out.println(l);
        }
    }
}
