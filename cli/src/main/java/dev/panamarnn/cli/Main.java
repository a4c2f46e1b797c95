package dev.panamarnn.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * {@code scripts/panama-rnn}: the command-line entry point. It lives in the {@code cli} module, the one
 * place where {@code core} and the OpenBLAS backend ({@code native}) are on one class path.
 *
 * <p>Errors print one line, {@code panama-rnn: error: …}, and exit 1 (2 for a command line that does not
 * parse), whatever the cause: an exception, an {@link OutOfMemoryError}, a failed class initialisation,
 * an error inside picocli. {@code --stacktrace} (anywhere on the command line) adds the stack trace.
 */
@Command(name = "panama-rnn", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Recurrent neural network inference on the CPU (Vector API + OpenBLAS through FFM).",
        footer = {"", "Batch scoring on Apache Spark: scripts/panama-rnn spark-score --help (the spark module; its own JVM and classpath)."},
        subcommands = {DemoCommand.class, InfoCommand.class, TuneCommand.class, ForwardCommand.class, RunCommand.class, ClassifyCommand.class, GenerateCommand.class,
                TranslateCommand.class, TrainCommand.class, ServeCommand.class, CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** The system property that sets the library's log level (default WARNING). */
    static final String LOG_PROPERTY = "panama.rnn.log";

    /** Held so the configuration is not collected with a weakly referenced logger. */
    private static final Logger LIBRARY_LOG = Logger.getLogger("dev.panamarnn");
    private static boolean logHandlerInstalled;

    /**
     * The library's log lines become one line each ("panama-rnn: ..."), control characters escaped; only
     * warnings show by default (for example that OpenBLAS is missing), -Dpanama.rnn.log=INFO shows the
     * backend choice too. Done on every {@link #run}, never in a static initialiser: a bad value must be a
     * warning, not an {@link ExceptionInInitializerError} before any handler exists.
     */
    private static synchronized void configureLogging(PrintWriter err) {
        if (!logHandlerInstalled) {
            Handler h = new StreamHandler(System.err, new java.util.logging.Formatter() {
                @Override
                public String format(LogRecord r) {
                    String m = Errors.oneLine(r.getMessage() == null ? "" : r.getMessage());
                    return (m.startsWith("panama-rnn:") ? m : "panama-rnn: " + m) + System.lineSeparator();
                }
            }) {
                @Override
                public synchronized void publish(LogRecord r) {
                    super.publish(r);
                    flush();
                }

                /** Flushes only: StreamHandler's close would close System.err, and JUL closes handlers at JVM shutdown. */
                @Override
                public synchronized void close() {
                    flush();
                }
            };
            LIBRARY_LOG.setUseParentHandlers(false);
            LIBRARY_LOG.addHandler(h);
            logHandlerInstalled = true;
        }
        LIBRARY_LOG.setLevel(logLevel(System.getProperty(LOG_PROPERTY), err));
    }

    /** The level {@code value} names; for null WARNING, for a bad value WARNING and a warning on {@code err}. */
    static Level logLevel(String value, PrintWriter err) {
        if (value == null || value.isBlank()) return Level.WARNING;
        try {
            return Level.parse(value.strip());
        } catch (IllegalArgumentException e) {
            err.println("panama-rnn: warning: -D" + LOG_PROPERTY + "=" + dev.panamarnn.Text.quote(value)
                    + " is not a log level (expected OFF, SEVERE, WARNING, INFO, CONFIG, FINE, FINER, FINEST or ALL); using WARNING");
            err.flush();
            return Level.WARNING;
        }
    }

    /** Runs the command line and returns the exit code (tests call this). Never throws, never prints a stack trace unless asked. */
    public static int run(String... args) {
        boolean trace = args != null && Arrays.asList(args).contains("--stacktrace");
        PrintWriter err = new PrintWriter(new java.io.OutputStreamWriter(System.err, charset(System.err)), true);
        try {
            String[] rest = Arrays.stream(args).filter(a -> !"--stacktrace".equals(a)).toArray(String[]::new);
            configureLogging(err);
            // The library's static configuration (-Dpanama.rnn.threads and the like) is read here, before any
            // model is opened, so a bad value is one clear line and not a failure in the middle of a call.
            dev.panamarnn.Parallelism.threads();
            // The launcher asks for this machine's kernel choices to be measured once, before the first command
            // that could use them (not before tune itself, --help or --version).
            if ("1".equals(System.getenv("PANAMA_RNN_AUTOTUNE")) && rest.length > 0 && !rest[0].startsWith("-")
                    && !List.of("tune", "help").contains(rest[0])) {
                TuneCommand.ifNeeded(err);
            }
            CommandLine cl = new CommandLine(new Main());
            cl.setErr(err);
            cl.setExecutionExceptionHandler((ex, line, parsed) -> {
                Errors.report(ex, trace, line.getErr());
                return 1;
            });
            cl.setParameterExceptionHandler((ex, a) -> {
                try {
                    return parameterError(ex, trace);
                } catch (RuntimeException again) {
                    // picocli would print the stack trace of an exception from this handler
                    Errors.report(ex, trace, err);
                    return 2;
                }
            });
            return cl.execute(rest);
        } catch (Throwable t) {
            // Errors (OutOfMemoryError, ExceptionInInitializerError, StackOverflowError) pass picocli's
            // handlers, which see only Exceptions; so do failures while picocli builds its model.
            Errors.report(t, trace, err);
            return 1;
        } finally {
            err.flush();
        }
    }

    private static java.nio.charset.Charset charset(PrintStream s) {
        try {
            return s.charset();
        } catch (RuntimeException e) {
            return StandardCharsets.UTF_8;
        }
    }

    /**
     * A command line that does not parse: one line and a pointer to --help, exit 2. A misspelled option is
     * reported as unknown with the closest options, even when picocli would first complain that the
     * option it stands for is missing.
     */
    private static int parameterError(ParameterException ex, boolean trace) {
        CommandLine line = ex.getCommandLine();
        PrintWriter err = line.getErr();
        List<String> unmatched = ex instanceof UnmatchedArgumentException u ? u.getUnmatched() : unmatchedOf(line);
        String message = ex.getMessage();
        String option = unmatched.stream().filter(a -> a.startsWith("-") && a.length() > 1).findFirst().orElse(null);
        List<String> suggestions = List.of();
        if (option != null) {
            String name = option.contains("=") ? option.substring(0, option.indexOf('=')) : option;
            message = "Unknown option: " + dev.panamarnn.Text.quote(name);
            suggestions = suggestions(line, name);
        } else if (ex instanceof UnmatchedArgumentException u) {
            suggestions = u.getSuggestions();
        }
        if (!suggestions.isEmpty()) message += ". Did you mean: " + String.join(" or ", suggestions.subList(0, Math.min(3, suggestions.size()))) + "?";
        err.println("panama-rnn: error: " + Errors.oneLine(message));
        if (trace) ex.printStackTrace(err);
        String cmd = line.getCommandName().equals("panama-rnn") ? "" : line.getCommandName() + " ";
        err.println("Try 'panama-rnn " + Errors.oneLine(cmd) + "--help'.");
        err.flush();
        return 2;
    }

    private static List<String> unmatchedOf(CommandLine line) {
        try {
            CommandLine.ParseResult r = line.getParseResult();
            return r == null ? List.of() : r.unmatched();
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    /**
     * The options of {@code line}'s command closest to {@code option}: by edit distance (a swap of two
     * neighbouring letters counts as one edit, so --wieghts finds --weights), at most a third of the
     * name's length apart; else picocli's own suggestions (options sharing the first letters).
     */
    static List<String> suggestions(CommandLine line, String option) {
        List<String> best = new ArrayList<>();
        int bestDistance = Integer.MAX_VALUE;
        int limit = Math.max(2, option.length() / 3);
        for (CommandLine.Model.OptionSpec o : line.getCommandSpec().options()) {
            if (o.hidden()) continue;
            for (String name : o.names()) {
                int d = distance(option, name);
                if (d > limit || d > bestDistance) continue;
                if (d < bestDistance) best.clear();
                bestDistance = d;
                if (!best.contains(name)) best.add(name);
            }
        }
        if (!best.isEmpty()) return best;
        try {
            return new ArrayList<>(new UnmatchedArgumentException(line, List.of(option)).getSuggestions());
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) d[i][0] = i;
        for (int j = 0; j <= b.length(); j++) d[0][j] = j;
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    /**
     * {@code --version}: "panama-rnn 0.1.0-SNAPSHOT (commit abc1234, built 2026-12-02)", from
     * {@code version.properties}, which the build fills in (the pom's version, {@code -Dgit.commit}, the date).
     */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws java.io.IOException {
            java.util.Properties p = new java.util.Properties();
            try (var in = Main.class.getResourceAsStream("version.properties")) {
                if (in != null) p.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
            }
            String v = value(p, "version");
            if (v == null) return new String[] {"panama-rnn (development build)"};
            String commit = value(p, "commit"), built = value(p, "built");
            return new String[] {"panama-rnn " + v + " (commit " + (commit == null ? "unknown" : commit)
                    + (built == null ? "" : ", built " + built) + ")"};
        }

        /** A property, or null when missing, empty or not filled in by the build. */
        private static String value(java.util.Properties p, String key) {
            String v = p.getProperty(key, "").strip();
            return v.isEmpty() || v.contains("${") ? null : v;
        }
    }
}
