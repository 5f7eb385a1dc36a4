use super::*;

#[test]
fn dummy_sampler_is_the_value_panvk_writes() {
    let d = Sampler::default().pack();
    assert_eq!(u32::from_le_bytes(d[0..4].try_into().unwrap()), 0x02A9_9901);
    assert!(d[4..].iter().all(|&b| b == 0));
}

#[test]
fn workgroup_size_packs_minus_one() {
    assert_eq!(WorkgroupSize([8, 8, 1]).pack(), 0x1C07);
    assert_eq!(WorkgroupSize::unpack(0x1C07), WorkgroupSize([8, 8, 1]));
}

#[test]
fn sampler_round_trips() {
    let s = Sampler {
        wrap: [
            WrapMode::Repeat,
            WrapMode::MirroredRepeat,
            WrapMode::ClampToBorder,
        ],
        normalized_coordinates: false,
        minify: Filter::Nearest,
        magnify: Filter::Linear,
        mipmap_mode: MipmapMode::Trilinear,
        minimum_lod: 1.5,
        maximum_lod: 12.25,
        compare_func: 3,
        lod_bias: -2.5,
        max_anisotropy: 16,
        border_color: [1, 2, 3, 0x3f80_0000],
    };
    assert_eq!(Sampler::unpack(&s.pack()), Ok(s));
}

#[test]
fn texture_and_plane_round_trip() {
    let t = Texture {
        dimension: TextureDimension::D3,
        normalize_coordinates: false,
        format: PixelFormat::new(187, 4, true),
        width: 300,
        height: 7,
        swizzle: [2, 1, 0, 5],
        texel_interleave: true,
        levels: 9,
        minimum_level: 0,
        minimum_lod: 0.0,
        maximum_lod: 8.0,
        samples: 1,
        surfaces: 0x1_2345_6780,
        array_size: 1,
        depth: 65,
    };
    assert_eq!(Texture::unpack(&t.pack()), Ok(t));
    assert_eq!(t.format.format(), 187);
    assert_eq!(t.format.order(), 4);
    let p = GenericPlane {
        ordering: ClumpOrdering::Linear,
        clump_format: CLUMP_RAW32,
        size: 1 << 20,
        pointer: 0xdead_0000,
        row_stride: 1200,
        slice_stride: 8400,
        width: 300,
        height: 7,
    };
    assert_eq!(GenericPlane::unpack(&p.pack()), Ok(p));
    assert!(
        Texture::unpack(&p.pack()).is_err(),
        "a plane is not a texture"
    );
}

#[test]
fn resource_table_and_buffers() {
    let r = Resource {
        address: 0x40_0000,
        contains_descriptors: true,
        size: 96,
    };
    assert_eq!(Resource::unpack(&r.pack()), r);
    let srt = ResourceTable {
        address: 0x8000_0040,
        count: 5,
    };
    assert_eq!(srt.pack(), 0x8000_0045);
    assert_eq!(ResourceTable::unpack(srt.pack()), srt);
    let b = Buffer::simple(0x1234_5000, 4096);
    assert_eq!(Buffer::unpack(&b.pack()), Ok(b));
    assert_eq!(DescriptorType::of(&b.pack()), Some(DescriptorType::Buffer));
    assert!(Buffer::unpack(&NULL_DESCRIPTOR).is_err());
}

#[test]
fn local_storage_encodes_log2_sizes() {
    let ls = LocalStorage {
        wls_size: 1024,
        wls_instances: 8,
        wls_base: 0x10_0000,
        tls_size: 0,
        tls_base: 0,
    };
    let d = ls.pack();
    assert_eq!(get_bits(&d, 40, 5), 11, "1 KiB is scale 11");
    assert_eq!(get_bits(&d, 32, 5), 3);
    assert_eq!(LocalStorage::unpack(&d), ls);
    let none = LocalStorage::default().pack();
    assert_eq!(get_bits(&none, 32, 5), 31, "no workgroup memory");
    assert_eq!(LocalStorage::unpack(&none), LocalStorage::default());
    assert_eq!(LocalStorage::wls_adjust(100), 128);
    assert_eq!(LocalStorage::wls_adjust(300), 512);
}

#[test]
fn program_and_fau() {
    let p = ShaderProgram {
        registers_32: true,
        preload: 0x7f80,
        binary: 0x4000_1000,
    };
    assert_eq!(ShaderProgram::unpack(&p.pack()), Ok(p));
    let f = FauBuffer {
        address: 0xffff_1234_5678,
        words: 23,
    };
    assert_eq!(FauBuffer::unpack(f.pack()), f);
}

fn get_bits(d: &[u8], start: usize, width: usize) -> u64 {
    super::bits::get(d, start, width)
}

#[test]
fn program_code_round_trips_and_refuses_garbage() {
    let code = ProgramCode {
        bindings: vec![
            BindingSlot {
                set: 0,
                binding: 3,
                table: 1,
                first: 4,
                stride: 1,
            },
            BindingSlot {
                set: 1,
                binding: 0,
                table: 0,
                first: 1,
                stride: 1,
            },
        ],
        push_offset: 24,
        shader: vec![1, 2, 3, 4, 5],
    };
    let w = code.to_words();
    assert_eq!(w.len(), code.words());
    assert_eq!(ProgramCode::image_words(&w), Ok(w.len()));
    assert_eq!(ProgramCode::parse(&w), Ok(code.clone()));
    assert_eq!(code.binding(1, 0).map(|b| b.first), Some(1));
    assert!(code.binding(2, 0).is_none());
    assert_eq!(
        ProgramCode::parse(&w[..w.len() - 1]),
        Err(CodeError::Truncated)
    );
    assert_eq!(ProgramCode::parse(&[7; 5]), Err(CodeError::BadMagic(7)));
    let mut huge = w.clone();
    huge[2] = u32::MAX;
    assert_eq!(ProgramCode::parse(&huge), Err(CodeError::Truncated));
}
