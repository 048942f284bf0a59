/* SPDX-License-Identifier: MIT */
#pragma once
/* The fake kernel's sysfs side, for detection run in full: a fixture tree
 * (sysfs, /dev, the mount table, swaps, /etc and the unit and rule
 * directories) under a temporary root that sys_setup() makes with an OS
 * disk (vda holding /) and sys_teardown() removes. The block devices'
 * content comes from fakekernel.h (fake(), ours()). */
#include <stdbool.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/detect/detect.h"
#include "agent/detect/sysfs.h"
#include "agent/setup/plan.h"
#include "tests/unit/fakekernel.h"

#define GEN1_RESOURCE "{00000000-0001-8899-0000-000000000000}"
#define GEN1_OS "{00000000-0000-8899-0000-000000000000}"
#define GEN2_CONTROLLER "{f8b3781a-1e82-4818-a1c3-63d806ec15bb}"
#define GEN2_DATA_CONTROLLER "{f8b3781b-1e82-4818-a1c3-63d806ec15bb}"
#define NVME_ACCEL "MSFT NVMe Accelerator v1.0"

extern char root[64];
extern struct sys_paths paths;
extern char sysfs[128], devdir[128], mountinfo[128], swaps[128], etcdir[128], unitdir[128],
	rulesdir[128], runrulesdir[128];
/* The devices the last run_detect read, space-separated in its order. */
extern char probed[1024];
/* The last run_detect's detection (its configuration: cfg). */
extern struct detection det;
extern const char *nvme_glob; /* replaces the default nvme_models when set */

void put(const char *rel, const char *content);
void link_dev(const char *rel, const char *target);
void disk(const char *name, const char *devno, const char *vendor, const char *model, const char *serial);
void vmbus_disk(const char *name, const char *devno, const char *device_id, unsigned lun, const char *serial);
void partition(const char *disk_name, const char *name, const char *devno);
void holder(const char *disk_name, const char *dm, const char *dm_name);
void pristine_resource(const char *dev, const char *listing);
void ours(const char *dev, const char *role, unsigned index, unsigned members, const char *key_source, const char *serial);
int sys_setup(void **state);
int sys_teardown(void **state);
void expect(const char *name, enum disk_role role, enum disk_action action, const char *reason_part);
void os_root_on(const char *part, const char *devno);
void nvme_ns(const char *name, const char *devno, const char *model, const char *serial, unsigned nsid, const char *vs);
void scsi_os_and_resource(const char *os_id, const char *res_id, unsigned res_lun);
struct fk_blk *fake(const char *dev, enum probe_kind kind, const char *type);
struct fk_blk *gpt_resource(const char *dev, const char *listing);
/* Detection in full over the tree; its verdicts, also in det. */
/* The probe deadline run_detect gives detection (0: its default). */
extern unsigned sys_probe_timeout_ms;
const struct verdict *run_detect_opts(bool force, bool candidates_only);
const struct verdict *run_detect(bool force);
/* The verdict for a disk by kernel name; fails the test without one. */
const struct verdict *find(const char *name);
const char *member_name(const struct volume *vol, size_t i);
