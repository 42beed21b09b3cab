//! Page checksums for the till's store.
//!
//! SQLite checks a database's structure (`PRAGMA integrity_check`), not its content: a byte
//! flipped on disk inside a row reads back as a wrong price or a wrong quantity, silently. This
//! crate registers a VFS, [`VFS`], that wraps the platform's own and keeps a checksum (a *seal*)
//! in the last [`RESERVED_BYTES`] bytes of every page of the main database file: it seals each
//! page as it is written and checks the seal as the page is read, so a damaged page is an error
//! (`SQLITE_IOERR_DATA`, see [`is_seal_error`]) the moment it is read, never a wrong figure.
//!
//! - Only a database whose pages reserve exactly [`RESERVED_BYTES`] bytes is sealed; on any other
//!   the VFS passes everything through untouched. [`reserve`] asks SQLite for that space: at once
//!   on a new database, at the next `VACUUM` on an existing one.
//! - The write-ahead log is not sealed: its frames carry SQLite's own checksums (checked when the
//!   log is recovered after a crash), and a page is sealed when it is checkpointed into the
//!   database file. So every read from the database file is checked.
//! - Memory-mapped reads would bypass the check, so a sealed database is never memory-mapped.
//! - A plain connection (SQLite's own VFS) reads a sealed file and ignores the seals: that is how
//!   a damaged file's readable rows are salvaged.
//!
//! The VFS copies the platform VFS's methods and replaces only `xOpen`: the platform's other
//! methods (delete, access, full path, randomness, sleep, time) do not depend on which VFS object
//! they are called through.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

use rusqlite::{ffi, Connection};

/// The name to open a connection with (`Connection::open_with_flags_and_vfs`).
pub const VFS: &str = "till-sealed";
const VFS_NAME: &CStr = c"till-sealed";

/// The bytes at the end of each page that hold its seal.
pub const RESERVED_BYTES: c_int = 8;

/// The database header's length, and where in it the page size and the reserved bytes are.
const HEADER_LEN: usize = 100;
const HEADER_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const HEADER_PAGE_SIZE: usize = 16;
const HEADER_RESERVED: usize = 20;

/// Registers [`VFS`] (once per process; later calls return the first call's answer).
pub fn register() -> rusqlite::Result<()> {
    static REGISTERED: OnceLock<c_int> = OnceLock::new();
    // SAFETY: runs once (OnceLock), before any connection uses the VFS; see `register_once`.
    let rc = *REGISTERED.get_or_init(|| unsafe { register_once() });
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(
            ffi::Error::new(rc),
            Some("cannot register the page-checksum VFS".to_owned()),
        ))
    }
}

/// The name of the platform VFS the sealed one wraps (SQLite's default), for a connection or an
/// `ATTACH` (`?vfs=` in a URI) that must read a damaged file without checking seals.
pub fn platform_vfs() -> rusqlite::Result<String> {
    register()?;
    let base = BASE.load(Ordering::Acquire);
    // SAFETY: `register` succeeded, so `base` is the default VFS, which lives for the process
    // and whose name is a NUL-terminated string.
    let name = unsafe { CStr::from_ptr((*base).zName) };
    Ok(name.to_string_lossy().into_owned())
}

/// How many bytes each page of `conn`'s main database reserves (a sealed one: [`RESERVED_BYTES`]).
pub fn reserved_bytes(conn: &Connection) -> rusqlite::Result<c_int> {
    reserve_bytes_control(conn, -1)
}

/// Asks SQLite to reserve room for a seal on every page: applied at once to a database that has
/// no page yet, and by the next `VACUUM` to one that has.
pub fn reserve(conn: &Connection) -> rusqlite::Result<()> {
    reserve_bytes_control(conn, RESERVED_BYTES).map(drop)
}

/// Whether `e` is a page whose seal does not match its content.
pub fn is_seal_error(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(err, _) if err.extended_code == ffi::SQLITE_IOERR_DATA)
}

/// Whether `page` (a whole page of a sealed database) carries the seal of its content.
pub fn is_sealed(page: &[u8]) -> bool {
    match page.len().checked_sub(seal_len()) {
        Some(end) => page[end..] == seal_of(&page[..end]),
        None => false,
    }
}

/// The seal of a page's content: two running 32-bit sums over its little-endian 32-bit words,
/// the second summing the first (so it depends on order as well as on every byte). A page's
/// content is a multiple of 8 bytes; a shorter tail is summed as if padded with zeros.
pub fn seal_of(content: &[u8]) -> [u8; 8] {
    let (mut a, mut b) = (0u32, 0u32);
    let mut words = content.chunks_exact(8);
    let mut step = |pair: &[u8]| {
        let mut padded = [0u8; 8];
        padded[..pair.len()].copy_from_slice(pair);
        let w0 = u32::from_le_bytes([padded[0], padded[1], padded[2], padded[3]]);
        let w1 = u32::from_le_bytes([padded[4], padded[5], padded[6], padded[7]]);
        a = a.wrapping_add(w0).wrapping_add(b);
        b = b.wrapping_add(w1).wrapping_add(a);
    };
    for pair in &mut words {
        step(pair);
    }
    if !words.remainder().is_empty() {
        step(words.remainder());
    }
    let mut seal = [0u8; 8];
    seal[..4].copy_from_slice(&a.to_le_bytes());
    seal[4..].copy_from_slice(&b.to_le_bytes());
    seal
}

fn seal_len() -> usize {
    usize::try_from(RESERVED_BYTES).unwrap_or(8)
}

/// Writes the seal of `page`'s content into its last bytes.
fn seal(page: &mut [u8]) {
    if let Some(end) = page.len().checked_sub(seal_len()) {
        let sum = seal_of(&page[..end]);
        page[end..].copy_from_slice(&sum);
    }
}

fn reserve_bytes_control(conn: &Connection, value: c_int) -> rusqlite::Result<c_int> {
    let mut arg = value;
    // SAFETY: the handle belongs to a live connection borrowed for this call, and
    // SQLITE_FCNTL_RESERVE_BYTES reads and writes exactly one int through its argument.
    let rc = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_RESERVE_BYTES,
            ptr::from_mut(&mut arg).cast(),
        )
    };
    if rc == ffi::SQLITE_OK {
        Ok(arg)
    } else {
        Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None))
    }
}

/// The platform VFS the sealed one wraps; set once by [`register_once`].
static BASE: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(ptr::null_mut());

/// # Safety
/// Called once per process (see [`register`]).
unsafe fn register_once() -> c_int {
    // SAFETY: sqlite3_vfs_find(NULL) returns the default VFS, which lives for the process.
    let base = unsafe { ffi::sqlite3_vfs_find(ptr::null()) };
    if base.is_null() {
        return ffi::SQLITE_ERROR;
    }
    BASE.store(base, Ordering::Release);
    // SAFETY: `base` is a valid VFS object (above); copying it copies plain fields and pointers.
    let mut vfs = unsafe { *base };
    let own = c_int::try_from(std::mem::size_of::<SealedFile>()).unwrap_or(c_int::MAX);
    vfs.szOsFile = vfs.szOsFile.saturating_add(own);
    vfs.pNext = ptr::null_mut();
    vfs.zName = VFS_NAME.as_ptr();
    vfs.xOpen = Some(open);
    // SQLite keeps the pointer for the life of the process, so the object is leaked on purpose.
    let vfs = Box::leak(Box::new(vfs));
    // SAFETY: `vfs` is a complete VFS object that outlives every connection (leaked above).
    unsafe { ffi::sqlite3_vfs_register(vfs, 0) }
}

/// What SQLite holds for a main database file opened through [`VFS`]: this header, then the
/// platform's own file object (SQLite allocates `szOsFile` bytes for both).
#[repr(C)]
struct SealedFile {
    /// Must come first: SQLite sees only this.
    file: ffi::sqlite3_file,
    /// The page size the header gives; 0 until a header was seen.
    page_size: c_int,
    /// Whether the header says the pages reserve room for a seal.
    sealed: bool,
}

impl SealedFile {
    /// Takes the page size and the reserved bytes from a database header, if `bytes` starts
    /// with one.
    fn learn(&mut self, bytes: &[u8]) {
        let Some(header) = bytes.get(..HEADER_LEN) else {
            return;
        };
        if !header.starts_with(HEADER_MAGIC) {
            return;
        }
        let raw = u16::from_be_bytes([header[HEADER_PAGE_SIZE], header[HEADER_PAGE_SIZE + 1]]);
        // A stored 1 means 65536, the one size a 16-bit field cannot say.
        self.page_size = if raw == 1 { 65536 } else { c_int::from(raw) };
        self.sealed = c_int::from(header[HEADER_RESERVED]) == RESERVED_BYTES;
    }

    /// Whether a read or write of `amount` bytes is a whole page to seal or check.
    fn seals(&self, amount: c_int) -> bool {
        self.sealed && amount == self.page_size
    }
}

/// The platform file behind `file`.
///
/// # Safety
/// `file` was opened by [`open`] as a main database file.
unsafe fn inner(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    // SAFETY: `open` laid a SealedFile at `file`, the platform file right after it.
    unsafe { file.cast::<SealedFile>().add(1).cast() }
}

/// The platform file's methods.
///
/// # Safety
/// `inner` was opened successfully by the platform VFS.
unsafe fn methods<'a>(inner: *mut ffi::sqlite3_file) -> &'a ffi::sqlite3_io_methods {
    // SAFETY: a successfully opened file has its (static) methods set.
    unsafe { &*(*inner).pMethods }
}

/// Reads the header of the file into `state`, when the file has one.
///
/// # Safety
/// `file` was opened by [`open`] as a main database file.
unsafe fn reread_header(file: *mut ffi::sqlite3_file) {
    let mut header = [0u8; HEADER_LEN];
    // SAFETY: per this function's contract.
    unsafe {
        let inner = inner(file);
        if let Some(read) = methods(inner).xRead {
            let len = c_int::try_from(HEADER_LEN).unwrap_or(0);
            if read(inner, header.as_mut_ptr().cast(), len, 0) == ffi::SQLITE_OK {
                (*file.cast::<SealedFile>()).learn(&header);
            }
        }
    }
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = BASE.load(Ordering::Acquire);
    // SAFETY: SQLite calls xOpen only on a registered VFS, so `base` is set; `file` points at
    // szOsFile bytes, room for a SealedFile and the platform's file after it.
    unsafe {
        let Some(base_open) = (*base).xOpen else {
            return ffi::SQLITE_CANTOPEN;
        };
        if flags & ffi::SQLITE_OPEN_MAIN_DB == 0 {
            return base_open(base, name, file, flags, out_flags);
        }
        file.cast::<SealedFile>().write(SealedFile {
            file: ffi::sqlite3_file {
                pMethods: ptr::null(),
            },
            page_size: 0,
            sealed: false,
        });
        let rc = base_open(base, name, inner(file), flags, out_flags);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        (*file).pMethods = &METHODS;
        reread_header(file);
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: SQLite calls this on a file `open` opened, with `buf` holding `amount` bytes.
    unsafe {
        let inner = inner(file);
        let Some(platform_read) = methods(inner).xRead else {
            return ffi::SQLITE_IOERR_READ;
        };
        let rc = platform_read(inner, buf, amount, offset);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        let bytes =
            std::slice::from_raw_parts(buf.cast::<u8>(), usize::try_from(amount).unwrap_or(0));
        let state = &mut *file.cast::<SealedFile>();
        if offset == 0 {
            state.learn(bytes);
        }
        if state.seals(amount) && !is_sealed(bytes) {
            return ffi::SQLITE_IOERR_DATA;
        }
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: SQLite calls this on a file `open` opened, with `buf` holding `amount` bytes.
    unsafe {
        let inner = inner(file);
        let Some(platform_write) = methods(inner).xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let bytes =
            std::slice::from_raw_parts(buf.cast::<u8>(), usize::try_from(amount).unwrap_or(0));
        if offset == 0 {
            (*file.cast::<SealedFile>()).learn(bytes);
        } else if !(*file.cast::<SealedFile>()).sealed {
            // Another connection may have sealed the database since this one last saw page 1.
            reread_header(file);
        }
        if (*file.cast::<SealedFile>()).seals(amount) {
            let mut page = bytes.to_vec();
            seal(&mut page);
            return platform_write(inner, page.as_ptr().cast(), amount, offset);
        }
        platform_write(inner, buf, amount, offset)
    }
}

unsafe extern "C" fn fetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: SQLite calls this on a file `open` opened, with `out` writable.
    unsafe {
        if (*file.cast::<SealedFile>()).sealed {
            // No mapping: SQLite then reads the page through `read`, which checks it.
            *out = ptr::null_mut();
            return ffi::SQLITE_OK;
        }
        let inner = inner(file);
        match methods(inner).xFetch {
            Some(f) => f(inner, offset, amount, out),
            None => {
                *out = ptr::null_mut();
                ffi::SQLITE_OK
            }
        }
    }
}

/// A method that hands the call to the platform file unchanged.
macro_rules! pass_through {
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty, $missing:expr) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> $ret {
            // SAFETY: SQLite calls this on a file `open` opened; the arguments go on as given.
            unsafe {
                let inner = inner(file);
                match methods(inner).$method {
                    Some(f) => f(inner $(, $arg)*),
                    None => $missing,
                }
            }
        }
    };
}

pass_through!(close, xClose, () -> c_int, ffi::SQLITE_OK);
pass_through!(truncate, xTruncate, (size: ffi::sqlite3_int64) -> c_int, ffi::SQLITE_IOERR_TRUNCATE);
pass_through!(sync, xSync, (flags: c_int) -> c_int, ffi::SQLITE_IOERR_FSYNC);
pass_through!(file_size, xFileSize, (size: *mut ffi::sqlite3_int64) -> c_int, ffi::SQLITE_IOERR_FSTAT);
pass_through!(lock, xLock, (level: c_int) -> c_int, ffi::SQLITE_IOERR_LOCK);
pass_through!(unlock, xUnlock, (level: c_int) -> c_int, ffi::SQLITE_IOERR_UNLOCK);
pass_through!(check_reserved_lock, xCheckReservedLock, (out: *mut c_int) -> c_int, ffi::SQLITE_IOERR_CHECKRESERVEDLOCK);
pass_through!(file_control, xFileControl, (op: c_int, arg: *mut c_void) -> c_int, ffi::SQLITE_NOTFOUND);
pass_through!(sector_size, xSectorSize, () -> c_int, 4096);
pass_through!(device_characteristics, xDeviceCharacteristics, () -> c_int, 0);
pass_through!(shm_map, xShmMap, (page: c_int, size: c_int, extend: c_int, out: *mut *mut c_void) -> c_int, ffi::SQLITE_IOERR_SHMMAP);
pass_through!(shm_lock, xShmLock, (offset: c_int, n: c_int, flags: c_int) -> c_int, ffi::SQLITE_IOERR_SHMLOCK);
pass_through!(shm_barrier, xShmBarrier, () -> (), ());
pass_through!(shm_unmap, xShmUnmap, (delete: c_int) -> c_int, ffi::SQLITE_OK);
pass_through!(unfetch, xUnfetch, (offset: ffi::sqlite3_int64, page: *mut c_void) -> c_int, ffi::SQLITE_OK);

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

#[cfg(test)]
mod tests {
    use super::*;

    fn page(seed: u32) -> Vec<u8> {
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 24) as u8)
            .collect()
    }

    #[test]
    fn a_sealed_page_checks_and_any_flipped_bit_breaks_the_seal() {
        let mut p = page(7);
        seal(&mut p);
        assert!(is_sealed(&p));
        for bit in 0..p.len() * 8 {
            let mut damaged = p.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(!is_sealed(&damaged), "a flip of bit {bit} went unseen");
        }
    }

    #[test]
    fn the_seal_depends_on_order() {
        let mut a = page(1);
        let mut b = a.clone();
        b.swap(0, 8);
        assert_ne!(a[0], a[8]);
        seal(&mut a);
        seal(&mut b);
        assert_ne!(a[4088..], b[4088..]);
    }

    #[test]
    fn a_header_says_page_size_and_whether_pages_are_sealed() {
        let mut header = [0u8; HEADER_LEN];
        header[..16].copy_from_slice(HEADER_MAGIC);
        header[HEADER_PAGE_SIZE] = 0x10;
        header[HEADER_RESERVED] = 8;
        let mut state = SealedFile {
            file: ffi::sqlite3_file {
                pMethods: ptr::null(),
            },
            page_size: 0,
            sealed: false,
        };
        state.learn(&header[..50]);
        assert_eq!(
            (state.page_size, state.sealed),
            (0, false),
            "too short to be a header"
        );
        state.learn(&header);
        assert_eq!((state.page_size, state.sealed), (4096, true));
        assert!(state.seals(4096) && !state.seals(100));
        header[HEADER_PAGE_SIZE..HEADER_PAGE_SIZE + 2].copy_from_slice(&[0, 1]);
        header[HEADER_RESERVED] = 0;
        state.learn(&header);
        assert_eq!((state.page_size, state.sealed), (65536, false));
    }

    #[test]
    fn too_short_a_page_is_never_sealed() {
        assert!(!is_sealed(&[0u8; 4]));
    }
}
