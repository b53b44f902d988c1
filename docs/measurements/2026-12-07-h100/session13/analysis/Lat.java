import tmc.api.Tmc; import tmc.plan.*; import java.nio.file.*; import java.util.*; import java.util.regex.*;
public class Lat { public static void main(String[] a) throws Exception {
  // a[0]=sample a[1]=N,H,W a[2]=C or - a[3]=tune file
  Tmc.Options o = Tmc.Options.DEFAULTS; if (!a[2].equals("-")) o = o.withParams(Map.of("C", Long.parseLong(a[2])));
  Tmc.Compilation c = Tmc.compile(Path.of("samples/" + a[0] + ".tm"), o);
  var spec = c.program().plan("best").orElseThrow();
  var block = c.program().block(spec.block()).orElseThrow();
  var target = c.targets().get("sm_90").orElseThrow();
  String[] s = a[1].split(","); LaunchShape ls = new LaunchShape(Integer.parseInt(s[0]), Integer.parseInt(s[1]), Integer.parseInt(s[2]));
  var planned = (Planner.Planned) Planner.plan(block, spec, target, ls, Tmc.TUNED_CANDIDATES);
  Map<String, Planner.Candidate> bySummary = new HashMap<>();
  for (var cand : planned.top()) { bySummary.putIfAbsent(cand.summary(), cand); for (var sp : Planner.specialized(cand, block, spec, target, ls)) bySummary.putIfAbsent(sp.summary(), sp); }
  Pattern p = Pattern.compile("\\] (.*?) +predicted +([0-9.]+) ms +measured +([0-9.]+) ms");
  for (String line : Files.readAllLines(Path.of(a[3]))) {
    Matcher m = p.matcher(line); if (!m.find()) continue;
    var cand = bySummary.get(m.group(1).trim());
    if (cand == null) { System.out.println("? " + m.group(1)); continue; }
    var k = cand.cost().kernels().getFirst();
    System.out.printf(Locale.ROOT, "%-70s warps/SM %3d  blocks %d (%s)  pred %.4f  meas %s  ratio %.2f%n", m.group(1).trim(), k.residentWarps(), k.blocksPerSm(), k.occupancyLimit(), cand.seconds()*1e3, m.group(3), Double.parseDouble(m.group(3))/(cand.seconds()*1e3));
  }
}}
