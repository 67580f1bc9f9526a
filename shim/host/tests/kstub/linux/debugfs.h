/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
#ifndef LAZYIDLE_KSTUB_DEBUGFS_H
#define LAZYIDLE_KSTUB_DEBUGFS_H
struct dentry;
struct seq_file;
struct file_operations { int (*show)(struct seq_file *, void *); };
#define DEFINE_SHOW_ATTRIBUTE(name) \
	static const struct file_operations name##_fops = { .show = name##_show }
/* Records what would be created, so the test can call the file's show. */
extern const struct file_operations *kstub_debugfs_fops;
extern void *kstub_debugfs_data;
static inline void debugfs_create_file(const char *name, int mode, struct dentry *dir,
				       void *data, const struct file_operations *fops)
{
	(void)name; (void)mode; (void)dir;
	kstub_debugfs_fops = fops;
	kstub_debugfs_data = data;
}
#endif
