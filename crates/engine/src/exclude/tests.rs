//! Unit tests of the matcher stack: which pattern decides, in which order.

use super::*;

fn p(s: &str) -> RelPath {
    RelPath::from_str_lossy(s).expect("a valid path")
}

fn file_rules(dir: &str, text: &str) -> Rules {
    let dir = if dir.is_empty() {
        RelPath::root()
    } else {
        p(dir)
    };
    let path = dir.join(IGNORE_FILE).expect("a name");
    let (rules, problems) = Rules::parse(
        dir.clone(),
        Source::File(path),
        text.as_bytes(),
        dir.is_root(),
    );
    assert!(problems.is_empty(), "{problems:?}");
    rules
}

/// The stack of the root folder whose ignore file holds `text`.
fn root_stack(ex: &Exclusions, text: &str) -> Stack {
    let (rules, problems) = ex.merged(Some((p(".offlineignore"), text.as_bytes())));
    assert!(problems.is_empty(), "{problems:?}");
    Stack::with_root(rules)
}

fn verdict(
    ex: &Exclusions,
    stack: &Stack,
    path: &str,
    is_dir: bool,
) -> Option<(bool, String, usize)> {
    ex.decide(stack, &p(path), is_dir).map(|hit| {
        let r = hit.reason();
        (
            r.excluded,
            format!("{}:{}", r.source.describe(), r.pattern),
            r.line,
        )
    })
}

#[test]
fn nested_files_apply_below_their_folder_and_a_bang_includes_again() {
    let ex = Exclusions::none();
    let root = root_stack(&ex, "# logs\n*.log\nbuild/\n");
    let inner = root.with(Some(file_rules("a", "!keep.log\n/only-here\n")));
    assert_eq!(
        verdict(&ex, &root, "x.log", false),
        Some((true, ".offlineignore:*.log".into(), 2))
    );
    assert_eq!(
        verdict(&ex, &inner, "a/keep.log", false),
        Some((false, "a/.offlineignore:!keep.log".into(), 1))
    );
    assert_eq!(
        verdict(&ex, &inner, "a/other.log", false),
        Some((true, ".offlineignore:*.log".into(), 2))
    );
    // Anchored to its own folder.
    assert!(ex.excludes(&inner, &p("a/only-here"), false));
    assert!(!ex.excludes(&root, &p("only-here"), false));
    // `build/` matches folders only.
    assert!(ex.excludes(&root, &p("build"), true));
    assert!(!ex.excludes(&root, &p("build"), false));
    assert_eq!(verdict(&ex, &root, "notes.txt", false), None);
}

#[test]
fn the_caches_patterns_beat_files_and_files_beat_the_built_in_list() {
    let ex = Exclusions::new(true, &["!x.swp".to_string(), "big/".to_string()]);
    let stack = root_stack(&ex, "!big/\n!.*.swp\n");
    // The cache's `big/` wins over the file's `!big/`.
    assert_eq!(
        verdict(&ex, &stack, "big", true),
        Some((true, "<cache>:big/".into(), 2))
    );
    // The file's `!.*.swp` wins over the built-in `.*.sw[a-p]`.
    assert!(!ex.excludes(&stack, &p(".a.swp"), false));
    // The built-in list, without a file.
    let plain = Stack::default();
    for name in [
        ".report.md.swp",
        "~$budget.xlsx",
        ".~lock.budget.ods#",
        ".DS_Store",
        "Thumbs.db",
        "desktop.ini",
        "notes.txt~",
    ] {
        assert!(ex.excludes(&plain, &p(name), false), "{name}");
    }
    for name in ["report.md", "budget.xlsx", "swap", "lock.ods", "a#b"] {
        assert!(!ex.excludes(&plain, &p(name), false), "{name}");
    }
    assert!(!Exclusions::new(false, &[]).excludes(&plain, &p(".DS_Store"), false));
}

#[test]
fn patterns_that_exclude_everything_are_refused() {
    for line in ["*", "/", "**", "/*", "/**", "**/*", "?*", "//"] {
        assert!(check_not_everything(line).is_err(), "{line}");
    }
    for line in ["*.log", "*/", "a*", "!*", "# *", "build/", "/a/*"] {
        assert!(check_not_everything(line).is_ok(), "{line}");
    }
    // In the root's ignore file the line is left out and reported; below the root
    // `*` is the usual "everything in this folder".
    let ex = Exclusions::none();
    let (rules, problems) = ex.merged(Some((p(".offlineignore"), b"*\n*.tmp\n")));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, 1);
    let stack = Stack::with_root(rules);
    assert!(!ex.excludes(&stack, &p("a"), false));
    assert!(ex.excludes(&stack, &p("a.tmp"), false));
    let sub = Stack::default().with(Some(file_rules("cache", "*\n")));
    assert!(ex.excludes(&sub, &p("cache/x"), false));
}

#[test]
fn lines_that_are_not_text_or_not_patterns_are_reported_and_the_rest_is_used() {
    let (rules, problems) = Rules::parse(
        p("d"),
        Source::File(p("d/.offlineignore")),
        b"a\xff\r\n*.o\r\n",
        false,
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].why.contains("UTF-8"));
    let stack = Stack::default().with(Some(rules));
    let none = Exclusions::none();
    let hit = none.decide(&stack, &p("d/x.o"), false).expect("a match");
    assert_eq!(hit.reason().line, 2);
}

#[test]
fn a_name_pattern_matches_at_any_depth_and_a_path_pattern_only_its_path() {
    let ex = Exclusions::none();
    let names = root_stack(&ex, "*.o\nbuild/\n!keep.o\n");
    assert!(ex.excludes(&names, &p("a/b/c.o"), false));
    assert!(ex.excludes(&names, &p("a/build"), true));
    assert!(!ex.excludes(&names, &p("a/keep.o"), false));
    let paths = root_stack(&ex, "docs/*.o\n/top.o\n");
    assert!(ex.excludes(&paths, &p("docs/c.o"), false));
    assert!(!ex.excludes(&paths, &p("a/docs/c.o"), false));
    assert!(ex.excludes(&paths, &p("top.o"), false));
    assert!(!ex.excludes(&paths, &p("a/top.o"), false));
    // In a folder's own file, the path is taken from that folder.
    let inner = Stack::default().with(Some(file_rules("a", "docs/*.o\n")));
    assert!(ex.excludes(&inner, &p("a/docs/c.o"), false));
    assert!(!ex.excludes(&inner, &p("docs/c.o"), false));
    assert!(!ex.excludes(&inner, &p("a/b/docs/c.o"), false));
}

#[test]
fn the_caches_patterns_beat_a_folders_file_and_a_folders_file_beats_the_roots() {
    let ex = Exclusions::new(true, &["secret.o".to_string()]);
    let root = root_stack(&ex, "*.o\n!.DS_Store\n");
    let inner = root.with(Some(file_rules("a", "!*.o\n")));
    assert_eq!(
        verdict(&ex, &inner, "a/secret.o", false),
        Some((true, "<cache>:secret.o".into(), 1))
    );
    assert_eq!(
        verdict(&ex, &inner, "a/main.o", false),
        Some((false, "a/.offlineignore:!*.o".into(), 1))
    );
    assert_eq!(
        verdict(&ex, &inner, "b.o", false),
        Some((true, ".offlineignore:*.o".into(), 1))
    );
    // The root's file beats the built-in list.
    assert_eq!(
        verdict(&ex, &inner, "a/.DS_Store", false),
        Some((false, ".offlineignore:!.DS_Store".into(), 2))
    );
    assert_eq!(
        verdict(&ex, &inner, "a/x.swp", false),
        None,
        "not a swap name"
    );
    assert_eq!(
        verdict(&ex, &inner, "a/.x.swp", false),
        Some((true, "<built-in>:.*.sw[a-p]".into(), 1))
    );
}
