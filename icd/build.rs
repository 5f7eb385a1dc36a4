//! Build script: reads the Vulkan registry (`vk.xml`) with `vk-parse` and
//! writes `$OUT_DIR/vk_tables_gen.rs`, the static tables behind
//! `src/vk_tables.rs` (commands, extensions, formats).
//!
//! Only the `api="vulkan"` side of the registry counts: Vulkan SC features,
//! require blocks and commands are skipped, and so are extensions whose
//! `supported=` list does not name `vulkan` (`supported="disabled"` ones).
//!
//! The registry is `/usr/share/vulkan/registry/vk.xml` (Debian package
//! `libvulkan-dev`) unless the `VK_XML` environment variable names another
//! file.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use vk_parse::{
    Command, EnumSpec, Extension, ExtensionChild, FormatChild, InterfaceItem, RegistryChild,
    TypeCodeMarkup, TypeSpec, TypesChild,
};

/// Where Debian's `libvulkan-dev` installs the registry.
const DEFAULT_VK_XML: &str = "/usr/share/vulkan/registry/vk.xml";

/// The API this driver implements; everything tagged for another API only
/// (`vulkansc`) is ignored.
const API: &str = "vulkan";

/// The dispatchable handles that are dispatch levels of their own. Any
/// other dispatchable handle (`VkQueue`, `VkCommandBuffer`, newer ones such
/// as `VkExternalComputeQueueNV`) takes the level of the first of these
/// found up its `parent=` chain.
const DISPATCH_ROOTS: [(&str, &str); 3] = [
    ("VkInstance", "Instance"),
    ("VkPhysicalDevice", "PhysicalDevice"),
    ("VkDevice", "Device"),
];

/// `VK_MAKE_API_VERSION(0, 1, 0, 0)`: every implementation has it, so it
/// adds nothing next to an extension.
const VERSION_1_0: u32 = 1 << 22;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=VK_XML");
    let path =
        std::env::var_os("VK_XML").map_or_else(|| PathBuf::from(DEFAULT_VK_XML), PathBuf::from);
    println!("cargo:rerun-if-changed={}", path.display());
    if !path.is_file() {
        // A plain message, without a panic's backtrace, is what someone
        // missing the package needs.
        eprintln!(
            "error: the Vulkan registry {} does not exist.\n\
             Install the Debian package `libvulkan-dev` (apt-get install libvulkan-dev), \
             or set VK_XML to the path of a vk.xml.",
            path.display()
        );
        std::process::exit(1);
    }
    let (registry, errors) = vk_parse::parse_file(&path)
        .unwrap_or_else(|e| panic!("cannot parse the Vulkan registry {}: {e:?}", path.display()));
    if !errors.is_empty() {
        warn(&format!(
            "vk-parse reported {} recoverable problems in {} (first: {:?})",
            errors.len(),
            path.display(),
            errors[0]
        ));
    }

    let model = Model::new(&registry.0);
    let mut out = String::new();
    model.write_commands(&mut out);
    model.write_extensions(&mut out);
    model.write_formats(&mut out);

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let gen = out_dir.join("vk_tables_gen.rs");
    std::fs::write(&gen, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", gen.display()));
}

fn warn(message: &str) {
    println!("cargo:warning=vk.xml: {message}");
}

/// Whether a comma-separated `api=` / `supported=` list includes Vulkan; a
/// missing list means every API.
fn for_vulkan(list: Option<&str>) -> bool {
    list.is_none_or(|list| list.split(',').any(|api| api.trim() == API))
}

/// `"1.3"` -> `VK_MAKE_API_VERSION(0, 1, 3, 0)`.
fn parse_version(number: &str) -> Option<u32> {
    let (major, minor) = number.split_once('.')?;
    let (major, minor): (u32, u32) = (major.parse().ok()?, minor.parse().ok()?);
    (major < 128 && minor < 1024).then_some((major << 22) | (minor << 12))
}

/// One thing that can be enabled: a core version or an extension.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Atom {
    Version(u32),
    Extension(String),
}

/// A dependency expression in disjunctive normal form: any of the terms,
/// each term all of its names. `[[]]` is "always", `[]` is "never".
type Dnf = Vec<Vec<String>>;

fn always() -> Dnf {
    vec![Vec::new()]
}

fn and(a: &Dnf, b: &Dnf) -> Dnf {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let mut term = x.clone();
            term.extend(y.iter().cloned());
            out.push(term);
        }
    }
    out
}

/// Parses a registry dependency expression: names joined by `+` (and) and
/// `,` (or), grouped with parentheses, as in `extension="A,B"` or
/// `depends="(A,VK_VERSION_1_1)+B"`. Mixing `+` and `,` without parentheses
/// is ambiguous in the registry's own grammar; it is read with `+` binding
/// tighter and reported. A malformed expression is reported and reduced to
/// its first name.
fn parse_depends(expr: &str) -> Dnf {
    let tokens: Vec<String> = {
        let mut tokens = Vec::new();
        let mut name = String::new();
        for c in expr.chars() {
            if matches!(c, '+' | ',' | '(' | ')') {
                if !name.is_empty() {
                    tokens.push(std::mem::take(&mut name));
                }
                tokens.push(c.to_string());
            } else if !c.is_whitespace() {
                name.push(c);
            }
        }
        if !name.is_empty() {
            tokens.push(name);
        }
        tokens
    };
    let mut parser = DependsParser {
        tokens: &tokens,
        pos: 0,
        mixed: false,
    };
    match parser.or() {
        Some(dnf) if parser.pos == tokens.len() => {
            if parser.mixed {
                warn(&format!("`{expr}` mixes `+` and `,` without parentheses; reading `+` as binding tighter"));
            }
            dnf
        }
        _ => {
            let first = tokens
                .iter()
                .find(|t| !matches!(t.as_str(), "+" | "," | "(" | ")"));
            warn(&format!(
                "cannot parse dependency expression `{expr}`; keeping only its first name"
            ));
            first.map_or_else(always, |name| vec![vec![name.clone()]])
        }
    }
}

/// Recursive descent over the tokens of a dependency expression:
/// `or := and (',' and)*`, `and := atom ('+' atom)*`, `atom := NAME | '(' or ')'`.
struct DependsParser<'a> {
    tokens: &'a [String],
    pos: usize,
    /// Set when a `+` and a `,` share one parenthesis level.
    mixed: bool,
}

impl DependsParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn or(&mut self) -> Option<Dnf> {
        let (mut dnf, mut saw_and) = self.and()?;
        let mut saw_or = false;
        while self.peek() == Some(",") {
            self.pos += 1;
            let (more, more_and) = self.and()?;
            dnf.extend(more);
            saw_or = true;
            saw_and |= more_and;
        }
        self.mixed |= saw_or && saw_and;
        Some(dnf)
    }

    /// Returns the term list and whether a `+` was seen at this level.
    fn and(&mut self) -> Option<(Dnf, bool)> {
        let mut dnf = self.atom()?;
        let mut saw_and = false;
        while self.peek() == Some("+") {
            self.pos += 1;
            dnf = and(&dnf, &self.atom()?);
            saw_and = true;
        }
        Some((dnf, saw_and))
    }

    fn atom(&mut self) -> Option<Dnf> {
        match self.peek()? {
            "(" => {
                self.pos += 1;
                let dnf = self.or()?;
                (self.peek() == Some(")")).then_some(())?;
                self.pos += 1;
                Some(dnf)
            }
            "+" | "," | ")" => None,
            name => {
                let name = name.to_owned();
                self.pos += 1;
                Some(vec![vec![name]])
            }
        }
    }
}

/// `Requirement` of `vk_tables`, before it is written out.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Core(u32),
    Extension { name: String, also: Option<Atom> },
}

/// Dispatch level and alias of one command.
struct CommandDef {
    dispatch: &'static str,
    alias_of: Option<String>,
}

/// What the generator needs from the registry.
#[derive(Default)]
struct Model<'r> {
    /// Feature name (`VK_VERSION_1_1`) -> version, Vulkan features only.
    versions: HashMap<String, u32>,
    /// Names that exist but are not available to Vulkan (disabled
    /// extensions, Vulkan SC features): a dependency on one is never met.
    unavailable: HashSet<String>,
    /// Vulkan commands by name.
    command_defs: BTreeMap<String, CommandDef>,
    /// Ways each command becomes available, in registry order.
    command_requires: BTreeMap<String, Vec<Requirement>>,
    /// Extension name -> (kind, spec version, number, promoted to).
    extensions: BTreeMap<String, (&'static str, u32, u32, Option<String>)>,
    /// `VK_FORMAT_*` name -> raw value, aliases excluded.
    format_values: HashMap<String, i32>,
    /// The `<format>` elements.
    formats: Vec<&'r vk_parse::Format>,
}

impl<'r> Model<'r> {
    fn new(children: &'r [RegistryChild]) -> Model<'r> {
        let mut model = Model::default();
        let vk_extensions: Vec<&Extension> = children
            .iter()
            .filter_map(|c| match c {
                RegistryChild::Extensions(e) => Some(&e.children),
                _ => None,
            })
            .flatten()
            .filter(|e| {
                let supported = for_vulkan(e.supported.as_deref());
                if !supported {
                    model.unavailable.insert(e.name.clone());
                }
                supported
            })
            .collect();
        let available_extensions: HashSet<&str> =
            vk_extensions.iter().map(|e| e.name.as_str()).collect();

        // Versions first: require blocks of extensions name them.
        for child in children {
            if let RegistryChild::Feature(f) = child {
                let version = f.number.as_deref().and_then(parse_version);
                match version {
                    Some(v) if for_vulkan(Some(&f.api)) => {
                        model.versions.insert(f.name.clone(), v);
                    }
                    Some(_) => {
                        model.unavailable.insert(f.name.clone());
                    }
                    None => warn(&format!(
                        "feature {} has no usable number= ({:?})",
                        f.name, f.number
                    )),
                }
            }
        }

        model.read_handles_and_commands(children);

        for child in children {
            match child {
                RegistryChild::Enums(e) if e.name.as_deref() == Some("VkFormat") => {
                    for item in &e.children {
                        if let vk_parse::EnumsChild::Enum(e) = item {
                            model.add_format_value(e, None);
                        }
                    }
                }
                RegistryChild::Formats(formats) => model.formats.extend(&formats.children),
                RegistryChild::Feature(f) if model.versions.contains_key(&f.name) => {
                    let parent = Atom::Version(model.versions[&f.name]);
                    model.read_requires(&parent, None, &f.children, &available_extensions);
                }
                _ => {}
            }
        }

        for ext in vk_extensions {
            let number = ext.number.and_then(|n| u32::try_from(n).ok());
            let Some(number) = number else {
                warn(&format!("extension {} has no number=; skipped", ext.name));
                continue;
            };
            let kind = match ext.ext_type.as_deref() {
                Some("instance") => "Instance",
                Some("device") => "Device",
                other => {
                    warn(&format!(
                        "extension {} has type={other:?}; skipped",
                        ext.name
                    ));
                    continue;
                }
            };
            let parent = Atom::Extension(ext.name.clone());
            model.read_requires(&parent, Some(number), &ext.children, &available_extensions);
            let spec_version = spec_version(ext);
            model.extensions.insert(
                ext.name.clone(),
                (kind, spec_version, number, ext.promotedto.clone()),
            );
        }
        model
    }

    /// Records every Vulkan command's dispatch level and alias target.
    fn read_handles_and_commands(&mut self, children: &[RegistryChild]) {
        let handles = dispatchable_handles(children);

        let mut aliases = Vec::new();
        for child in children {
            let RegistryChild::Commands(commands) = child else {
                continue;
            };
            for command in &commands.children {
                match command {
                    Command::Definition(def) if for_vulkan(def.api.as_deref()) => {
                        let first = def.params.iter().find(|p| for_vulkan(p.api.as_deref()));
                        let first_type = first.and_then(|p| p.definition.type_name.as_deref());
                        let dispatch = first_type
                            .and_then(|t| handles.get(t))
                            .copied()
                            .unwrap_or("Global");
                        self.command_defs.insert(
                            def.proto.name.clone(),
                            CommandDef {
                                dispatch,
                                alias_of: None,
                            },
                        );
                    }
                    Command::Definition(_) => {}
                    Command::Alias { name, alias } => aliases.push((name.clone(), alias.clone())),
                    _ => warn("unknown kind of <command>; skipped"),
                }
            }
        }
        // Resolve alias chains to the defining command, whose implementation
        // the alias shares.
        for (name, alias) in &aliases {
            let mut target = alias;
            for _ in 0..aliases.len() {
                match aliases.iter().find(|(n, _)| n == target) {
                    Some((_, next)) => target = next,
                    None => break,
                }
            }
            let Some(def) = self.command_defs.get(target) else {
                warn(&format!(
                    "command alias {name} -> {alias} names no Vulkan command; skipped"
                ));
                continue;
            };
            let dispatch = def.dispatch;
            self.command_defs.insert(
                name.clone(),
                CommandDef {
                    dispatch,
                    alias_of: Some(target.clone()),
                },
            );
        }
    }

    /// Reads the `<require>` blocks of one feature or extension: the commands
    /// they make available and the formats they add. `ext_number` is the
    /// extension number that `offset=` enums default to.
    fn read_requires(
        &mut self,
        parent: &Atom,
        ext_number: Option<u32>,
        blocks: &[ExtensionChild],
        available_extensions: &HashSet<&str>,
    ) {
        for block in blocks {
            let ExtensionChild::Require {
                api,
                extension,
                feature,
                depends,
                items,
                ..
            } = block
            else {
                continue;
            };
            if !for_vulkan(api.as_deref()) {
                continue;
            }
            // The condition only matters (and is only reported on) for
            // blocks that list commands.
            let mut requirements = Vec::new();
            if items
                .iter()
                .any(|i| matches!(i, InterfaceItem::Command { .. }))
            {
                let mut condition = always();
                for expr in [feature, extension, depends].into_iter().flatten() {
                    condition = and(&condition, &parse_depends(expr));
                }
                requirements = condition
                    .iter()
                    .filter_map(|term| self.requirement(parent, term, available_extensions))
                    .collect();
            }

            for item in items {
                match item {
                    InterfaceItem::Command { name, .. } => {
                        if !self.command_defs.contains_key(name) {
                            warn(&format!(
                                "{name} is required but not defined for Vulkan; skipped"
                            ));
                            continue;
                        }
                        let list = self.command_requires.entry(name.clone()).or_default();
                        for r in &requirements {
                            if !list.contains(r) {
                                list.push(r.clone());
                            }
                        }
                    }
                    InterfaceItem::Enum(e) if for_vulkan(e.api.as_deref()) => {
                        self.add_format_value(e, ext_number)
                    }
                    _ => {}
                }
            }
        }
    }

    /// The requirement "`parent` and every name of `term`", or `None` when a
    /// name is never available to Vulkan.
    fn requirement(
        &self,
        parent: &Atom,
        term: &[String],
        available_extensions: &HashSet<&str>,
    ) -> Option<Requirement> {
        let mut atoms = vec![parent.clone()];
        for name in term {
            // `VkPhysicalDeviceVulkan12Features::descriptorIndexing`: a
            // device feature gates using a command, not its entry point.
            if name.contains("::") {
                continue;
            }
            let atom = if let Some(v) = self.versions.get(name) {
                Atom::Version(*v)
            } else if available_extensions.contains(name.as_str()) {
                Atom::Extension(name.clone())
            } else {
                if !self.unavailable.contains(name) {
                    warn(&format!(
                        "dependency on unknown name {name}; that way is dropped"
                    ));
                }
                return None;
            };
            if !atoms.contains(&atom) {
                atoms.push(atom);
            }
        }
        let version = atoms
            .iter()
            .filter_map(|a| match a {
                Atom::Version(v) => Some(*v),
                Atom::Extension(_) => None,
            })
            .max();
        let mut extensions = atoms.iter().filter_map(|a| match a {
            Atom::Extension(e) => Some(e.clone()),
            Atom::Version(_) => None,
        });
        let Some(name) = extensions.next() else {
            return Some(Requirement::Core(version.unwrap_or(VERSION_1_0)));
        };
        let mut also: Vec<Atom> = extensions.map(Atom::Extension).collect();
        also.extend(version.filter(|v| *v > VERSION_1_0).map(Atom::Version));
        if also.len() > 1 {
            warn(&format!(
                "{name} together with {also:?} cannot be expressed as one Requirement; keeping {:?}",
                also[0]
            ));
        }
        Some(Requirement::Extension {
            name,
            also: also.into_iter().next(),
        })
    }

    /// Records the value of a `VkFormat` enum defined by `e`; aliases and
    /// other enums are ignored.
    fn add_format_value(&mut self, e: &vk_parse::Enum, ext_number: Option<u32>) {
        let value = match &e.spec {
            EnumSpec::Value { value, extends }
                if extends.as_deref().is_none_or(|x| x == "VkFormat") =>
            {
                value.parse::<i32>().ok()
            }
            EnumSpec::Offset {
                offset,
                extends,
                extnumber,
                dir,
            } if extends == "VkFormat" => {
                let number = extnumber.or(ext_number.map(i64::from));
                number.map(|n| {
                    let v = 1_000_000_000 + (n - 1) * 1000 + offset;
                    // vk-parse's `dir` is true for positive values: it is
                    // false only with `dir="-"`.
                    i32::try_from(if *dir { v } else { -v })
                        .unwrap_or_else(|_| panic!("{} overflows", e.name))
                })
            }
            _ => return,
        };
        if !e.name.starts_with("VK_FORMAT_") {
            return;
        }
        let Some(value) = value else {
            warn(&format!("cannot compute the value of {}; skipped", e.name));
            return;
        };
        if let Some(old) = self.format_values.insert(e.name.clone(), value) {
            if old != value {
                warn(&format!("{} is defined as both {old} and {value}", e.name));
            }
        }
    }

    fn write_commands(&self, out: &mut String) {
        let count = self.command_requires.len();
        writeln!(
            out,
            "/// Every Vulkan command of the registry, sorted by name."
        )
        .unwrap();
        writeln!(out, "static COMMANDS: [CommandInfo; {count}] = [").unwrap();
        for (name, requires) in &self.command_requires {
            let def = &self.command_defs[name];
            let requires: Vec<String> = requires.iter().map(requirement_code).collect();
            let alias_of = def
                .alias_of
                .as_ref()
                .map_or("None".to_owned(), |a| format!("Some({a:?})"));
            writeln!(
                out,
                "CommandInfo {{ name: {name:?}, dispatch: Dispatch::{}, requires: &[{}], alias_of: {alias_of} }},",
                def.dispatch,
                requires.join(", ")
            )
            .unwrap();
        }
        writeln!(out, "];").unwrap();
    }

    fn write_extensions(&self, out: &mut String) {
        let count = self.extensions.len();
        writeln!(
            out,
            "/// Every Vulkan extension of the registry, sorted by name."
        )
        .unwrap();
        writeln!(out, "static EXTENSIONS: [ExtensionInfo; {count}] = [").unwrap();
        for (name, (kind, spec_version, number, promoted_to)) in &self.extensions {
            let promoted_to = promoted_to
                .as_ref()
                .map_or("None".to_owned(), |p| format!("Some({p:?})"));
            writeln!(
                out,
                "ExtensionInfo {{ name: {name:?}, kind: ExtensionKind::{kind}, spec_version: {spec_version}, \
                 number: {number}, promoted_to: {promoted_to} }},"
            )
            .unwrap();
        }
        writeln!(out, "];").unwrap();
    }

    fn write_formats(&self, out: &mut String) {
        let mut rows = BTreeMap::new();
        for &format in &self.formats {
            let Some(&value) = self.format_values.get(&format.name) else {
                warn(&format!(
                    "<format> {} has no Vulkan enum value; skipped",
                    format.name
                ));
                continue;
            };
            let mut block_extent = [1u32; 3];
            if let Some(extent) = &format.blockExtent {
                let parts: Vec<Option<u32>> =
                    extent.split(',').map(|p| p.trim().parse().ok()).collect();
                match parts[..] {
                    [Some(w), Some(h), Some(d)] => block_extent = [w, h, d],
                    _ => panic!(
                        "{}: blockExtent={extent:?} is not three numbers",
                        format.name
                    ),
                }
            }
            let mut components = Vec::new();
            let mut planes = 0u8;
            for child in &format.children {
                match child {
                    FormatChild::Component {
                        name,
                        bits,
                        numericFormat,
                        ..
                    } => {
                        components.push((name.as_str(), bits.as_str(), numericFormat.as_str()));
                    }
                    FormatChild::Plane { .. } => planes += 1,
                    _ => {}
                }
            }
            let bits_of = |component: &str| -> u8 {
                components.iter().find(|c| c.0 == component).map_or(0, |c| {
                    c.1.parse().unwrap_or_else(|_| {
                        panic!("{}: {component} has bits={:?}", format.name, c.1)
                    })
                })
            };
            let (depth_bits, stencil_bits) = (bits_of("D"), bits_of("S"));
            let numeric = components
                .first()
                .unwrap_or_else(|| panic!("{} has no <component>", format.name))
                .2;
            let opt = |s: &Option<String>| {
                s.as_ref()
                    .map_or("None".to_owned(), |s| format!("Some({s:?})"))
            };
            let row = format!(
                "FormatInfo {{ format: vk::Format::from_raw({value}), name: {:?}, class: {:?}, block_bytes: {}, \
                 texels_per_block: {}, block_extent: {block_extent:?}, compression: {}, depth_bits: {depth_bits}, \
                 stencil_bits: {stencil_bits}, planes: {planes}, packed: {}, chroma: {}, numeric: {numeric:?} }},",
                format.name,
                format.class,
                format.blockSize,
                format.texelsPerBlock,
                opt(&format.compressed),
                format.packed.unwrap_or(0),
                opt(&format.chroma),
            );
            if rows.insert(value, row).is_some() {
                panic!(
                    "two <format> elements have the value {value} ({})",
                    format.name
                );
            }
        }
        writeln!(
            out,
            "/// Every format of the registry's `<formats>`, sorted by raw value."
        )
        .unwrap();
        writeln!(out, "static FORMATS: [FormatInfo; {}] = [", rows.len()).unwrap();
        for row in rows.values() {
            writeln!(out, "{row}").unwrap();
        }
        writeln!(out, "];").unwrap();
    }
}

/// Dispatchable handle name -> dispatch level (a variant of `Dispatch`).
fn dispatchable_handles(children: &[RegistryChild]) -> HashMap<String, &'static str> {
    // Every handle with its parent and whether it is dispatchable.
    let mut handles: HashMap<&str, (Option<&str>, bool)> = HashMap::new();
    for child in children {
        let RegistryChild::Types(types) = child else {
            continue;
        };
        for t in &types.children {
            let TypesChild::Type(t) = t else { continue };
            let TypeSpec::Code(code) = &t.spec else {
                continue;
            };
            if t.category.as_deref() != Some("handle") || !for_vulkan(t.api.as_deref()) {
                continue;
            }
            let name = code.markup.iter().find_map(|m| match m {
                TypeCodeMarkup::Name(n) => Some(n.as_str()),
                _ => None,
            });
            let dispatchable = code
                .markup
                .iter()
                .any(|m| matches!(m, TypeCodeMarkup::Type(t) if t == "VK_DEFINE_HANDLE"));
            // `parent=` may list several handles; the first is enough.
            let parent = t.parent.as_deref().and_then(|p| p.split(',').next());
            if let Some(name) = name {
                handles.insert(name, (parent, dispatchable));
            }
        }
    }
    let mut levels = HashMap::new();
    for (&name, &(_, dispatchable)) in &handles {
        if !dispatchable {
            continue;
        }
        let mut at = Some(name);
        let mut level = None;
        for _ in 0..=handles.len() {
            let Some(handle) = at else { break };
            if let Some((_, l)) = DISPATCH_ROOTS.iter().find(|(root, _)| *root == handle) {
                level = Some(*l);
                break;
            }
            at = handles.get(handle).and_then(|h| h.0);
        }
        let level = level.unwrap_or_else(|| {
            panic!("dispatchable handle {name} descends from none of {DISPATCH_ROOTS:?}; build.rs must learn it")
        });
        levels.insert(name.to_owned(), level);
    }
    for (root, _) in DISPATCH_ROOTS {
        assert!(
            levels.contains_key(root),
            "vk.xml defines no dispatchable handle {root}"
        );
    }
    levels
}

/// The `<enum name="VK_..._SPEC_VERSION" value=".."/>` of an extension.
fn spec_version(ext: &Extension) -> u32 {
    let mut found = BTreeSet::new();
    for child in &ext.children {
        let ExtensionChild::Require { api, items, .. } = child else {
            continue;
        };
        if !for_vulkan(api.as_deref()) {
            continue;
        }
        for item in items {
            let InterfaceItem::Enum(e) = item else {
                continue;
            };
            let EnumSpec::Value {
                value,
                extends: None,
            } = &e.spec
            else {
                continue;
            };
            if !e.name.ends_with("_SPEC_VERSION") {
                continue;
            }
            match value.trim_matches('"').parse::<u32>() {
                Ok(v) => {
                    found.insert(v);
                }
                Err(_) => warn(&format!("{} = {value} is not a number", e.name)),
            }
        }
    }
    if found.len() != 1 {
        warn(&format!(
            "{} has spec versions {found:?}; using the largest",
            ext.name
        ));
    }
    found.last().copied().unwrap_or(0)
}

fn requirement_code(r: &Requirement) -> String {
    match r {
        Requirement::Core(v) => format!("Requirement::Core({v:#010x})"),
        Requirement::Extension { name, also } => {
            let also = match also {
                None => "None".to_owned(),
                Some(Atom::Version(v)) => format!("Some(Also::Core({v:#010x}))"),
                Some(Atom::Extension(e)) => format!("Some(Also::Extension({e:?}))"),
            };
            format!("Requirement::Extension {{ name: {name:?}, also: {also} }}")
        }
    }
}
