// Package securefile opens and creates the files a privileged process
// trusts: key files, mapping files, revocation store directories, operator
// audit logs and the secrets a command writes.
//
// A file a process running as root (or as a service account) trusts must not
// be replaceable by another local user, or that user controls what the
// process believes. Open therefore accepts a file only when
//
//   - it is a regular file, opened without following a final symbolic link
//     and without blocking on a FIFO or device;
//   - it is owned by root or by the running user;
//   - it is not writable by others (group-writable is allowed; a Secret
//     file must give group and others no access at all);
//   - its directory is owned by root or the running user and is not
//     writable by others, unless the directory is sticky and the file is
//     ours (as in /tmp, where others cannot rename or delete our file).
//
// CreateSecret makes a new file with mode 0600 exclusively: it never
// follows a symbolic link, never reuses an existing file and never keeps an
// existing file's owner or mode.
//
// Refusals are *Error values carrying the facts (path, owner, mode, what is
// wrong) as typed fields; errors.Is(err, ErrInsecure) matches them. Error
// strings say what is wrong, never how to fix it: Remedy gives the command
// line a CLI or an example prints beside the error.
//
// The checks are made on the opened file (fstat), so a file swapped between
// a check and the open is caught.
//
// On Windows the mode bits mean nothing; the owner and the DACL are checked
// instead (golang.org/x/sys/windows): the owner must be the running user,
// SYSTEM or Administrators; a Secret file may give no access to any other
// account, any other file or directory no write access, and the directory
// holding a file may let no other account delete or rename its entries
// (FILE_DELETE_CHILD, DELETE, WRITE_DAC, WRITE_OWNER, GENERIC_ALL). A missing
// DACL counts as everyone having full access; deny entries are ignored (they
// can only take access away). Error.SID and Error.Access carry the account
// and its access mask, and Remedy gives an icacls command line. CreateSecret
// gives the new file a protected DACL: the creator, SYSTEM and
// Administrators only. On platforms other than Unix and Windows only the
// file type is checked.
package securefile
