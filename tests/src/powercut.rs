//! A filesystem that loses power: a FUSE mount over a backing directory that keeps, in memory,
//! everything written since a file's last `fsync`/`fdatasync` (and every directory entry made or
//! removed since its directory's last `fsync`) and passes it to the backing directory only when
//! it is synced. [`Mount::cut`] (or an armed [`CutAt`]) drops all of that at once, as a power cut
//! would, and fails every later operation with `EIO`; mounting the backing directory again then
//! shows exactly what had reached the disk.
//!
//! The whole tree is held in memory while mounted (a till's data dir is a few megabytes); the
//! backing directory is the disk. The kernel's own locks (`fcntl`, `flock`) serve the processes
//! on the mount, as for any filesystem that does not take them over.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::io::{self, Write as _};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::consts::FOPEN_KEEP_CACHE;
use fuser::{
    FileAttr, FileType, Filesystem, MountOption, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow, FUSE_ROOT_ID,
};

/// The unit in which unsynced writes are tracked.
const PAGE: u64 = 4096;
/// Attributes are never cached by the kernel: sizes change under it only through this mount.
const TTL: Duration = Duration::ZERO;
const EIO: i32 = 5;
const ENOENT: i32 = 2;
const EEXIST: i32 = 17;
const ENOTEMPTY: i32 = 39;

/// When an armed mount cuts the power by itself, counting from [`Mount::arm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutAt {
    /// Instead of the n-th `fsync`, `fdatasync` or directory `fsync` (1-based): it never lands.
    Sync(u64),
    /// Instead of the n-th operation that changes something (a write, a size change, a create,
    /// an unlink, a rename).
    Change(u64),
}

/// One file or directory as the processes on the mount see it.
#[derive(Debug)]
struct Node {
    kind: FileType,
    /// A file's bytes.
    data: Vec<u8>,
    /// A directory's entries.
    children: BTreeMap<OsString, u64>,
    /// Pages of `data` written since the last sync.
    dirty: BTreeSet<u64>,
    /// Where the disk (the backing directory) holds this node, once an entry for it was synced.
    on_disk: Option<PathBuf>,
    /// A file synced before any entry for it was: what the disk will hold once one is.
    synced_unlinked: Option<Vec<u8>>,
    mode: u16,
    mtime: SystemTime,
}

impl Node {
    fn new(kind: FileType, mode: u16) -> Node {
        Node {
            kind,
            data: Vec::new(),
            children: BTreeMap::new(),
            dirty: BTreeSet::new(),
            on_disk: None,
            synced_unlinked: None,
            mode,
            mtime: SystemTime::now(),
        }
    }
}

/// What the mount holds and how far it is from a cut.
#[derive(Debug)]
struct State {
    nodes: BTreeMap<u64, Node>,
    next_ino: u64,
    armed: Option<CutAt>,
    syncs: u64,
    changes: u64,
    dead: bool,
    /// Syncs that reached the disk, for the tests' reports.
    synced: u64,
}

impl State {
    fn load(backing: &Path) -> io::Result<State> {
        let mut state = State {
            nodes: BTreeMap::new(),
            next_ino: FUSE_ROOT_ID + 1,
            armed: None,
            syncs: 0,
            changes: 0,
            dead: false,
            synced: 0,
        };
        let mut root = Node::new(FileType::Directory, 0o755);
        root.on_disk = Some(backing.to_path_buf());
        state.nodes.insert(FUSE_ROOT_ID, root);
        state.load_dir(FUSE_ROOT_ID, backing)?;
        Ok(state)
    }

    fn load_dir(&mut self, dir: u64, path: &Path) -> io::Result<()> {
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            let ino = self.next_ino;
            self.next_ino += 1;
            let mut node = if meta.is_dir() {
                Node::new(FileType::Directory, 0o755)
            } else {
                let mut n = Node::new(FileType::RegularFile, 0o644);
                n.data = std::fs::read(entry.path())?;
                n
            };
            node.on_disk = Some(entry.path());
            self.nodes.insert(ino, node);
            self.node_mut(dir)?.children.insert(entry.file_name(), ino);
            if meta.is_dir() {
                self.load_dir(ino, &entry.path())?;
            }
        }
        Ok(())
    }

    fn node(&self, ino: u64) -> io::Result<&Node> {
        self.nodes.get(&ino).ok_or_else(not_found)
    }

    fn node_mut(&mut self, ino: u64) -> io::Result<&mut Node> {
        self.nodes.get_mut(&ino).ok_or_else(not_found)
    }

    fn attr(&self, ino: u64) -> io::Result<FileAttr> {
        let n = self.node(ino)?;
        let size = n.data.len() as u64;
        Ok(FileAttr {
            ino,
            size,
            blocks: size.div_ceil(512),
            atime: n.mtime,
            mtime: n.mtime,
            ctime: n.mtime,
            crtime: n.mtime,
            kind: n.kind,
            perm: n.mode,
            nlink: if n.kind == FileType::Directory { 2 } else { 1 },
            uid: 0,
            gid: 0,
            rdev: 0,
            blksize: PAGE as u32,
            flags: 0,
        })
    }

    /// Counts an operation that changes something; `Err` when the power is (or now goes) out.
    fn change(&mut self) -> Result<(), i32> {
        if self.dead {
            return Err(EIO);
        }
        self.changes += 1;
        if self.armed == Some(CutAt::Change(self.changes)) {
            self.cut();
            return Err(EIO);
        }
        Ok(())
    }

    /// Counts a sync; `Err` when the power is (or now goes) out instead.
    fn sync_op(&mut self) -> Result<(), i32> {
        if self.dead {
            return Err(EIO);
        }
        self.syncs += 1;
        if self.armed == Some(CutAt::Sync(self.syncs)) {
            self.cut();
            return Err(EIO);
        }
        Ok(())
    }

    /// Everything not synced is gone; nothing answers any more.
    fn cut(&mut self) {
        self.dead = true;
        self.nodes.clear();
    }

    fn alive(&self) -> Result<(), i32> {
        if self.dead {
            Err(EIO)
        } else {
            Ok(())
        }
    }

    fn write(&mut self, ino: u64, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let n = self.node_mut(ino)?;
        let end = offset as usize + bytes.len();
        if n.data.len() < end {
            n.data.resize(end, 0);
        }
        n.data[offset as usize..end].copy_from_slice(bytes);
        let first = offset / PAGE;
        let last = (end as u64).div_ceil(PAGE);
        n.dirty.extend(first..last.max(first + 1));
        n.mtime = SystemTime::now();
        Ok(())
    }

    fn truncate(&mut self, ino: u64, size: u64) -> io::Result<()> {
        let n = self.node_mut(ino)?;
        let old = n.data.len() as u64;
        n.data.resize(size as usize, 0);
        if size > old {
            n.dirty.extend(old / PAGE..size.div_ceil(PAGE));
        }
        n.mtime = SystemTime::now();
        Ok(())
    }

    /// Makes a file's bytes durable: on its disk entry if it has one, else kept for the entry.
    fn sync_file(&mut self, ino: u64) -> io::Result<()> {
        let n = self.node_mut(ino)?;
        if n.kind != FileType::RegularFile {
            return Ok(());
        }
        match &n.on_disk {
            Some(path) => {
                let file = std::fs::OpenOptions::new().write(true).open(path)?;
                for page in std::mem::take(&mut n.dirty) {
                    let start = (page * PAGE) as usize;
                    if start >= n.data.len() {
                        continue;
                    }
                    let end = (start + PAGE as usize).min(n.data.len());
                    file.write_all_at(&n.data[start..end], start as u64)?;
                }
                file.set_len(n.data.len() as u64)?;
            }
            None => {
                n.dirty.clear();
                n.synced_unlinked = Some(n.data.clone());
            }
        }
        self.synced += 1;
        Ok(())
    }

    /// Makes a directory's entries durable: the disk's directory then lists exactly its
    /// children, each file with the bytes last synced (none if never synced).
    fn sync_dir(&mut self, dir: u64) -> io::Result<()> {
        let d = self.node(dir)?;
        let Some(dir_path) = d.on_disk.clone() else {
            return Ok(());
        };
        let children = d.children.clone();
        for entry in std::fs::read_dir(&dir_path)? {
            let entry = entry?;
            let path = entry.path();
            let still = children
                .get(&entry.file_name())
                .and_then(|ino| self.nodes.get(ino))
                .is_some_and(|n| n.on_disk.as_deref() == Some(path.as_path()));
            if !still {
                if entry.file_type()?.is_dir() {
                    std::fs::remove_dir_all(&path)?;
                } else {
                    std::fs::remove_file(&path)?;
                }
                for n in self.nodes.values_mut() {
                    if n.on_disk.as_deref() == Some(path.as_path()) {
                        n.on_disk = None;
                    }
                }
            }
        }
        for (name, ino) in children {
            let path = dir_path.join(&name);
            let n = self.node_mut(ino)?;
            if n.on_disk.as_deref() == Some(path.as_path()) {
                continue;
            }
            if n.kind == FileType::Directory {
                std::fs::create_dir(&path)?;
            } else {
                let bytes = n.synced_unlinked.take().unwrap_or_default();
                std::fs::File::create(&path)?.write_all(&bytes)?;
            }
            n.on_disk = Some(path);
        }
        self.synced += 1;
        Ok(())
    }

    fn lookup(&self, parent: u64, name: &OsStr) -> io::Result<u64> {
        self.node(parent)?
            .children
            .get(name)
            .copied()
            .ok_or_else(not_found)
    }

    fn make(&mut self, parent: u64, name: &OsStr, kind: FileType, mode: u32) -> Result<u64, i32> {
        if self
            .node(parent)
            .map_err(errno)?
            .children
            .contains_key(name)
        {
            return Err(EEXIST);
        }
        self.change()?;
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes
            .insert(ino, Node::new(kind, (mode & 0o7777) as u16));
        self.node_mut(parent)
            .map_err(errno)?
            .children
            .insert(name.to_os_string(), ino);
        Ok(ino)
    }

    fn remove(&mut self, parent: u64, name: &OsStr, dir: bool) -> Result<(), i32> {
        let ino = self.lookup(parent, name).map_err(errno)?;
        if dir && !self.node(ino).map_err(errno)?.children.is_empty() {
            return Err(ENOTEMPTY);
        }
        self.change()?;
        self.node_mut(parent).map_err(errno)?.children.remove(name);
        // The node stays while a process may hold it open; it is simply no longer listed.
        Ok(())
    }
}

fn not_found() -> io::Error {
    io::Error::from_raw_os_error(ENOENT)
}

fn errno(e: io::Error) -> i32 {
    e.raw_os_error().unwrap_or(EIO)
}

/// The FUSE side: every request takes the shared state.
struct PowerCutFs {
    state: Arc<Mutex<State>>,
}

impl PowerCutFs {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A sync of `ino`, done by `land` unless the power goes instead.
    fn sync(&self, ino: u64, reply: ReplyEmpty, land: fn(&mut State, u64) -> io::Result<()>) {
        let mut st = self.state();
        match st
            .sync_op()
            .and_then(|()| land(&mut st, ino).map_err(errno))
        {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    /// A new file or directory, answered with its entry.
    fn make(&self, parent: u64, name: &OsStr, kind: FileType, mode: u32, reply: ReplyEntry) {
        let mut st = self.state();
        match st
            .make(parent, name, kind, mode)
            .and_then(|ino| st.attr(ino).map_err(errno))
        {
            Ok(attr) => reply.entry(&TTL, &attr, 0),
            Err(e) => reply.error(e),
        }
    }
}

impl Filesystem for PowerCutFs {
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        let st = self.state();
        if let Err(e) = st.alive() {
            return reply.error(e);
        }
        match st.lookup(parent, name).and_then(|ino| st.attr(ino)) {
            Ok(attr) => reply.entry(&TTL, &attr, 0),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        let st = self.state();
        if let Err(e) = st.alive() {
            return reply.error(e);
        }
        match st.attr(ino) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<u64>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        let mut st = self.state();
        if let Some(size) = size {
            if let Err(e) = st.change() {
                return reply.error(e);
            }
            if let Err(e) = st.truncate(ino, size) {
                return reply.error(errno(e));
            }
        } else if let Err(e) = st.alive() {
            return reply.error(e);
        }
        if let Some(mode) = mode {
            if let Ok(n) = st.node_mut(ino) {
                n.mode = (mode & 0o7777) as u16;
            }
        }
        match st.attr(ino) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn mknod(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        self.make(parent, name, FileType::RegularFile, mode, reply);
    }

    fn mkdir(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        self.make(parent, name, FileType::Directory, mode, reply);
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        match self.state().remove(parent, name, false) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        match self.state().remove(parent, name, true) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        _flags: u32,
        reply: ReplyEmpty,
    ) {
        let mut st = self.state();
        let ino = match st.lookup(parent, name) {
            Ok(ino) => ino,
            Err(e) => return reply.error(errno(e)),
        };
        if let Err(e) = st.change() {
            return reply.error(e);
        }
        let moved = st
            .node_mut(parent)
            .map(|p| {
                p.children.remove(name);
            })
            .and_then(|()| st.node_mut(newparent))
            .map(|p| {
                p.children.insert(newname.to_os_string(), ino);
            });
        match moved {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, _flags: i32, reply: ReplyOpen) {
        let st = self.state();
        if let Err(e) = st.alive() {
            return reply.error(e);
        }
        match st.node(ino) {
            // Only the kernel writes through this mount, so its page cache stays right across
            // opens (and a mapping shared by two processes stays one).
            Ok(_) => reply.opened(0, FOPEN_KEEP_CACHE),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let st = self.state();
        if let Err(e) = st.alive() {
            return reply.error(e);
        }
        match st.node(ino) {
            Ok(n) => {
                let start = (offset.max(0) as usize).min(n.data.len());
                let end = (start + size as usize).min(n.data.len());
                reply.data(&n.data[start..end]);
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn write(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        let mut st = self.state();
        if let Err(e) = st.change() {
            return reply.error(e);
        }
        match st.write(ino, offset.max(0) as u64, data) {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn flush(&mut self, _req: &Request<'_>, _ino: u64, _fh: u64, _owner: u64, reply: ReplyEmpty) {
        reply.ok();
    }

    fn fsync(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.sync(ino, reply, State::sync_file);
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        let st = self.state();
        if let Err(e) = st.alive() {
            return reply.error(e);
        }
        let Ok(dir) = st.node(ino) else {
            return reply.error(ENOENT);
        };
        let mut entries = vec![
            (ino, FileType::Directory, OsString::from(".")),
            (ino, FileType::Directory, OsString::from("..")),
        ];
        for (name, child) in &dir.children {
            if let Ok(n) = st.node(*child) {
                entries.push((*child, n.kind, name.clone()));
            }
        }
        for (i, (child, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(child, (i + 1) as i64, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.sync(ino, reply, State::sync_dir);
    }

    fn create(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let mut st = self.state();
        match st.make(parent, name, FileType::RegularFile, mode) {
            Ok(ino) => match st.attr(ino) {
                Ok(attr) => reply.created(&TTL, &attr, 0, 0, FOPEN_KEEP_CACHE),
                Err(e) => reply.error(errno(e)),
            },
            Err(e) => reply.error(e),
        }
    }
}

/// A mounted [`PowerCutFs`]. Dropping it unmounts.
pub struct Mount {
    state: Arc<Mutex<State>>,
    session: Option<fuser::BackgroundSession>,
    mountpoint: PathBuf,
}

impl Mount {
    /// Mounts what `backing` holds (the disk) at `mountpoint`.
    pub fn new(backing: &Path, mountpoint: &Path) -> io::Result<Mount> {
        std::fs::create_dir_all(mountpoint)?;
        let state = Arc::new(Mutex::new(State::load(backing)?));
        let fs = PowerCutFs {
            state: Arc::clone(&state),
        };
        let session = fuser::spawn_mount2(
            fs,
            mountpoint,
            &[
                MountOption::FSName("till-powercut".into()),
                MountOption::NoAtime,
            ],
        )?;
        Ok(Mount {
            state,
            session: Some(session),
            mountpoint: mountpoint.to_path_buf(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The directory the processes under test use.
    pub fn path(&self) -> &Path {
        &self.mountpoint
    }

    /// Cuts the power at `at`, counting syncs and changes from now.
    pub fn arm(&self, at: CutAt) {
        let mut st = self.state();
        st.syncs = 0;
        st.changes = 0;
        st.armed = Some(at);
    }

    /// Cuts the power now.
    pub fn cut(&self) {
        self.state().cut();
    }

    /// Whether the power was cut (by [`Mount::cut`] or an armed [`CutAt`]).
    pub fn is_cut(&self) -> bool {
        self.state().dead
    }

    /// Syncs and changes counted since [`Mount::arm`].
    pub fn counts(&self) -> (u64, u64) {
        let st = self.state();
        (st.syncs, st.changes)
    }

    /// Unmounts; whatever was not synced is lost, as at a cut.
    pub fn unmount(mut self) {
        self.cut();
        if let Some(session) = self.session.take() {
            session.join();
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.state().cut();
            session.join();
        }
    }
}

/// Whether FUSE mounts work here: mounts an empty directory and unmounts it. `Err` says why not.
pub fn available() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let backing = dir.path().join("disk");
    std::fs::create_dir_all(&backing).map_err(|e| e.to_string())?;
    let mount = Mount::new(&backing, &dir.path().join("mnt"))
        .map_err(|e| format!("cannot mount a FUSE filesystem: {e}"))?;
    let probe = mount.path().join("probe");
    let written =
        std::fs::write(&probe, b"x").map_err(|e| format!("cannot write through FUSE: {e}"));
    mount.unmount();
    written
}
